package cli

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"
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
// archive when the pod, or its live log, is gone (runops.StreamLogs,
// shared with the web UI), saying so on stderr.
func (r *root) streamLogs(ctx context.Context, src logSource, run *krtv1.Run, follow bool) error {
	return runops.StreamLogs(ctx, runops.LogSource{C: src.c, Cfg: src.cfg}, run, follow, r.Out,
		func(msg string) { fmt.Fprintln(r.Err, msg) })
}

func phaseOf(run *krtv1.Run) krtv1.RunPhase {
	if run.Status.Phase == "" {
		return krtv1.RunPending
	}
	return run.Status.Phase
}
