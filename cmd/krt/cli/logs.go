package cli

import (
	"context"
	"fmt"
	"io"

	"github.com/spf13/cobra"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"krt.dev/krt/api/scheme"
	krtv1 "krt.dev/krt/api/v1alpha1"
	"krt.dev/krt/cmd/krt/runops"
)

func (r *root) logsCommand() *cobra.Command {
	var follow bool
	cmd := &cobra.Command{
		Use:   "logs RUN",
		Short: "Print a Run's output, from the runtimed that executes it",
		Long: `Logs prints a Run's output as its runtime pod's runtimed keeps it. With -f it
waits for the Run to start and streams each line as it is written, until the
Run ends.

On a local pool (krt dev up) it reads runtimed's live log server. In a
cluster it reads the runtimed container's log through the API server
(pods/log) and keeps the Run's own lines.

Once the pod is gone, it reads the log runtimed archived, per attempt, in the
Runtime's ArtifactStore, and says so on stderr. That read is yours: krt
reads the ArtifactStore and its credentials Secret with your kubeconfig, so
it needs "get" on both in the Run's namespace.`,
		Args:              cobra.ExactArgs(1),
		ValidArgsFunction: r.complete(1, listRuns(nil)),
		RunE: func(cmd *cobra.Command, args []string) error {
			ns, err := r.namespace()
			if err != nil {
				return err
			}
			c, err := r.client()
			if err != nil {
				return err
			}
			key := client.ObjectKey{Namespace: ns, Name: args[0]}
			var run *krtv1.Run
			err = watchRun(cmd.Context(), c, key, func(cur *krtv1.Run) bool {
				run = cur
				started := cur.Status.Phase == krtv1.RunRunning || cur.Status.Phase.Terminal()
				return !follow || (started && cur.Status.AssignedPod != "")
			})
			if err != nil {
				return err
			}
			if run.Status.AssignedPod == "" {
				return fmt.Errorf("run %s has not started yet (phase %s); use -f to wait for it", run.Name, phaseOf(run))
			}
			src, err := r.hubLogSource()
			if err != nil {
				return err
			}
			return r.streamLogs(cmd.Context(), src, run, follow)
		},
	}
	cmd.Flags().BoolVarP(&follow, "follow", "f", false, "wait for the Run and stream its output until it ends")
	return cmd
}

// logSource is the API server a Run lives in: the hub, or a Cluster's.
type logSource struct {
	c   client.WithWatch
	cfg *rest.Config
}

func (r *root) hubLogSource() (logSource, error) {
	if r.testClient != nil {
		return logSource{c: r.testClient}, nil
	}
	cfg, err := r.restConfig()
	if err != nil {
		return logSource{}, err
	}
	c, err := client.NewWithWatch(cfg, client.Options{Scheme: scheme.New()})
	return logSource{c: c, cfg: cfg}, err
}

// streamLogs copies a Run's log from its pod to stdout, or from the
// archive when the pod, or its live log, is gone.
func (r *root) streamLogs(ctx context.Context, src logSource, run *krtv1.Run, follow bool) error {
	c := src.c
	pod := &corev1.Pod{}
	if err := c.Get(ctx, client.ObjectKey{Namespace: run.Namespace, Name: run.Status.AssignedPod}, pod); err != nil {
		if !apierrors.IsNotFound(err) {
			return err
		}
		// The pod took its live log with it; runtimed archived each
		// attempt's in the Runtime's ArtifactStore, if it has one.
		if aerr := r.archivedLogs(ctx, c, run); aerr != nil {
			return fmt.Errorf("run %s ran on pod %s, which is gone with its live log, and no archive could be read: %w", run.Name, run.Status.AssignedPod, aerr)
		}
		return nil
	}
	// A terminating pod, or a runtimed that restarted, may have no live
	// log of a finished Run: the archive has it whole. Only when nothing
	// was printed yet, so that no line shows twice.
	live := *r
	counted := &countingWriter{w: r.Out}
	live.Out = counted
	err := live.liveLogs(ctx, src, run, pod, follow)
	if counted.n == 0 && run.Status.Phase.Terminal() {
		if aerr := r.archivedLogs(ctx, c, run); aerr == nil {
			return nil
		}
	}
	return err
}

// liveLogs reads the log the pod's runtimed keeps, as the web UI does
// (runops.LiveLogs).
func (r *root) liveLogs(ctx context.Context, src logSource, run *krtv1.Run, pod *corev1.Pod, follow bool) error {
	return runops.LiveLogs(ctx, runops.LogSource{C: src.c, Cfg: src.cfg}, run, pod, follow, r.Out)
}

// countingWriter counts what was written through it.
type countingWriter struct {
	w io.Writer
	n int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

func phaseOf(run *krtv1.Run) krtv1.RunPhase {
	if run.Status.Phase == "" {
		return krtv1.RunPending
	}
	return run.Status.Phase
}
