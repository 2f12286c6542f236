package cli

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/spf13/cobra"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"krt.dev/krt/api/scheme"
	krtv1 "krt.dev/krt/api/v1alpha1"
	"krt.dev/krt/cmd/krt/runops"
	"krt.dev/krt/controllers/cluster"
	"krt.dev/krt/workflows/dag"
)

func (r *root) wfLogsCommand() *cobra.Command {
	var opts cluster.KubeconfigOptions
	cmd := &cobra.Command{
		Use:   "logs RUN [STEP]",
		Short: "Print the logs of a run's steps, from whichever cluster ran them",
		Long: `Logs prints the output of each node of a WorkflowRun that has a Run, in status
order, under a line naming the node, its cluster and its Run; with STEP, only
that step's nodes. A node that ran in a remote cluster is read through that
Cluster's kubeconfig Secret in the hub, so this needs "get" on it; without,
the node says so and the rest still print. The exit code is 1 when any
node's logs could not be read. A node whose pod is gone, or whose Run was
deleted, prints the log runtimed archived in its Runtime's ArtifactStore
(see krt logs --help).

A Cluster's kubeconfig is checked as krt-controller checks it: exec and
auth-provider plugins, files, proxy-url and insecure-skip-tls-verify are
refused unless the flag of the same name allows them (see docs/security.md).`,
		Args:              cobra.RangeArgs(1, 2),
		ValidArgsFunction: r.complete(1, listWorkflowRuns(nil)),
		RunE: func(cmd *cobra.Command, args []string) error {
			step := ""
			if len(args) == 2 {
				step = args[1]
			}
			return r.wfLogs(cmd.Context(), args[0], step, opts)
		},
	}
	opts.BindFlags(cmd.Flags())
	return cmd
}

func (r *root) wfLogs(ctx context.Context, name, step string, opts cluster.KubeconfigOptions) error {
	s, err := r.wfSession()
	if err != nil {
		return err
	}
	wr, err := s.run(ctx, name)
	if err != nil {
		return err
	}
	hub, err := r.hubLogSource()
	if err != nil {
		return err
	}
	sources := map[string]logSource{"": hub}
	failed, shown := 0, 0
	for _, n := range wr.Status.Nodes {
		if n.Run == "" || (step != "" && dag.StepOf(n.Name) != step) {
			continue
		}
		shown++
		fmt.Fprintf(r.Out, "--- %s (%s, Run %s)\n", n.Name, where(n.Cluster), n.Run)
		if err := r.nodeLogs(ctx, s, wr, sources, n, opts); err != nil {
			failed++
			fmt.Fprintf(r.Out, "(no logs: %v)\n", err)
		}
	}
	switch {
	case shown == 0 && step != "":
		return fmt.Errorf("run %s has no node of step %q with a Run", name, step)
	case shown == 0:
		fmt.Fprintf(r.Err, "Run %s has started no steps yet.\n", name)
	case failed > 0:
		return &ExitError{Code: 1, Message: fmt.Sprintf("the logs of %d of %d nodes could not be read", failed, shown)}
	}
	return nil
}

func where(cluster string) string {
	if cluster == "" {
		return "on the hub"
	}
	return "on " + cluster
}

// nodeLogs prints one node's Run's output, connecting to its cluster the
// first time one of its nodes needs it.
func (r *root) nodeLogs(ctx context.Context, s *wfSession, wr *krtv1.WorkflowRun, sources map[string]logSource, n krtv1.NodeStatus,
	opts cluster.KubeconfigOptions) error {
	src, run, err := nodeRun(ctx, s, wr, sources, n, opts)
	if apierrors.IsNotFound(err) && run != nil {
		// The Run is gone (its TTL, say) but its WorkflowRun is not: what
		// runtimed archived of it is still there.
		if aerr := r.archivedLogs(ctx, src.c, run); aerr != nil {
			return fmt.Errorf("its Run %s is deleted, and its archive could not be read: %w", run.Name, aerr)
		}
		return nil
	}
	if err != nil {
		return err
	}
	if run.Status.AssignedPod == "" {
		return errors.New("its Run has not started")
	}
	return r.streamLogs(ctx, src, run, false)
}

// nodeRun reads a node's Run from the cluster it ran in: the hub, or a
// Cluster's API server through its kubeconfig Secret, connected to once.
// A Run that is gone comes back with its NotFound error and, where its
// Runtime is known, a stand-in (runops.DeletedRun) to read its archive
// and artifacts by.
func nodeRun(ctx context.Context, s *wfSession, wr *krtv1.WorkflowRun, sources map[string]logSource, n krtv1.NodeStatus,
	opts cluster.KubeconfigOptions) (logSource, *krtv1.Run, error) {
	src, ok := sources[n.Cluster]
	ns := s.ns
	if n.Cluster != "" {
		cl := &krtv1.Cluster{}
		if err := s.c.Get(ctx, client.ObjectKey{Namespace: s.ns, Name: n.Cluster}, cl); err != nil {
			return src, nil, err
		}
		ns = cl.Spec.Namespace
		if ns == "" {
			ns = "default"
		}
		if !ok {
			var err error
			if src, err = clusterLogSource(ctx, s.c, cl, opts); err != nil {
				return src, nil, err
			}
			sources[n.Cluster] = src
		}
	}
	run := &krtv1.Run{}
	if err := src.c.Get(ctx, client.ObjectKey{Namespace: ns, Name: n.Run}, run); err != nil {
		if apierrors.IsNotFound(err) {
			if rt := nodeRuntime(wr, n); rt != "" {
				return src, runops.DeletedRun(ns, n.Run, rt), err
			}
		}
		return src, nil, err
	}
	return src, run, nil
}

// nodeRuntime is the Runtime a node's Run was made for: as the engine
// recorded it, or, for a run made before it did, as the step names it.
func nodeRuntime(wr *krtv1.WorkflowRun, n krtv1.NodeStatus) string {
	if n.Runtime != "" {
		return n.Runtime
	}
	return stepRuntime(wr, n.Name)
}

// stepRuntime is the Runtime a node's step names in the run's definition
// ("rt" of "cluster/rt": the cluster is the node's), or "" where the step
// names none as a plain name: an expression, a tool's or an image's
// runtime, a runner, the default. Those the engine resolved when it made
// the Run, and what it resolved went with the Run.
func stepRuntime(wr *krtv1.WorkflowRun, node string) string {
	if wr == nil {
		return ""
	}
	step := dag.StepOf(node)
	for _, st := range wr.Spec.Definition.Steps {
		if st.Name != step || st.Runtime == "" || strings.Contains(st.Runtime, "${{") {
			continue
		}
		if _, rt, ok := strings.Cut(st.Runtime, "/"); ok {
			return rt
		}
		return st.Runtime
	}
	return ""
}

// clusterLogSource connects to a Cluster as the controller does, from
// its kubeconfig Secret in the hub, refusing the same fields.
func clusterLogSource(ctx context.Context, hub client.Client, cl *krtv1.Cluster, opts cluster.KubeconfigOptions) (logSource, error) {
	cfg, _, err := cluster.RESTConfig(ctx, hub, cl, opts)
	if err != nil {
		return logSource{}, fmt.Errorf("the kubeconfig of cluster %s: %w", cl.Name, err)
	}
	cfg.UserAgent = "krt-cli"
	c, err := client.NewWithWatch(cfg, client.Options{Scheme: scheme.New()})
	return logSource{c: c, cfg: cfg}, err
}
