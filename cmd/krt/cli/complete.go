package cli

import (
	"context"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	krtv1 "krt.dev/krt/api/v1alpha1"
)

// completionTimeout bounds the API calls behind a <TAB>: a shell that
// hangs on an unreachable cluster is worse than no suggestions.
const completionTimeout = 5 * time.Second

// nameLister lists the names a shell may complete, in the namespace of the
// command line's -n or kubeconfig. args are the arguments typed so far.
type nameLister func(ctx context.Context, c client.Client, ns string, args []string) ([]string, error)

// complete completes argument number len(args) with names from the API
// server, up to maxArgs arguments (0 for any number). Names already given are
// not offered again. Any error means no suggestions, and never files.
func (r *root) complete(maxArgs int, list nameLister) cobra.CompletionFunc {
	return func(cmd *cobra.Command, args []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
		const none = cobra.ShellCompDirectiveNoFileComp
		if maxArgs > 0 && len(args) >= maxArgs {
			return nil, none
		}
		ctx := cmd.Context()
		if ctx == nil {
			ctx = context.Background()
		}
		ctx, cancel := context.WithTimeout(ctx, completionTimeout)
		defer cancel()
		names, err := r.completionNames(ctx, list, args)
		if err != nil {
			return nil, none
		}
		var out []cobra.Completion
		for _, n := range names {
			if strings.HasPrefix(n, toComplete) && !slices.Contains(args, n) {
				out = append(out, n)
			}
		}
		return out, none
	}
}

func (r *root) completionNames(ctx context.Context, list nameLister, args []string) ([]string, error) {
	c, err := r.client()
	if err != nil {
		return nil, err
	}
	ns, err := r.namespace()
	if err != nil {
		return nil, err
	}
	return list(ctx, c, ns, args)
}

// listRuns lists the Runs that keep is true of (all of them for nil).
func listRuns(keep func(*krtv1.Run) bool) nameLister {
	return func(ctx context.Context, c client.Client, ns string, _ []string) ([]string, error) {
		list := &krtv1.RunList{}
		err := c.List(ctx, list, client.InNamespace(ns))
		return namesOf(list.Items, keep), err
	}
}

func listWorkflowRuns(keep func(*krtv1.WorkflowRun) bool) nameLister {
	return func(ctx context.Context, c client.Client, ns string, _ []string) ([]string, error) {
		list := &krtv1.WorkflowRunList{}
		err := c.List(ctx, list, client.InNamespace(ns))
		return namesOf(list.Items, keep), err
	}
}

func listWorkflows(keep func(*krtv1.Workflow) bool) nameLister {
	return func(ctx context.Context, c client.Client, ns string, _ []string) ([]string, error) {
		list := &krtv1.WorkflowList{}
		err := c.List(ctx, list, client.InNamespace(ns))
		return namesOf(list.Items, keep), err
	}
}

func listRuntimes(ctx context.Context, c client.Client, ns string, _ []string) ([]string, error) {
	list := &krtv1.RuntimeList{}
	err := c.List(ctx, list, client.InNamespace(ns))
	return namesOf[krtv1.Runtime](list.Items, nil), err
}

func listNamespaces(ctx context.Context, c client.Client, _ string, _ []string) ([]string, error) {
	list := &corev1.NamespaceList{}
	err := c.List(ctx, list)
	return namesOf[corev1.Namespace](list.Items, nil), err
}

func namesOf[T any, P objPtr[T]](items []T, keep func(P) bool) []string {
	var out []string
	for i := range items {
		if keep == nil || keep(&items[i]) {
			out = append(out, P(&items[i]).GetName())
		}
	}
	return out
}

// Filters of what is worth offering.
func runUnfinished(run *krtv1.Run) bool          { return !run.Status.Phase.Terminal() }
func wfRunUnfinished(wr *krtv1.WorkflowRun) bool { return !wr.Status.Phase.Terminal() }
func wfHasManualTrigger(wf *krtv1.Workflow) bool { return wf.Spec.On.Manual != nil }

// completeDecision completes `wf approve|reject RUN STEP`: first the runs
// that have not ended, then the run's gates that wait for a decision, or
// if none waits yet, all its approval steps.
func (r *root) completeDecision() cobra.CompletionFunc {
	runs := r.complete(0, listWorkflowRuns(wfRunUnfinished))
	steps := r.complete(0, wfGatesOf)
	return func(cmd *cobra.Command, args []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
		switch len(args) {
		case 0:
			return runs(cmd, args, toComplete)
		case 1:
			return steps(cmd, args, toComplete)
		}
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
}

func wfGatesOf(ctx context.Context, c client.Client, ns string, args []string) ([]string, error) {
	wr := &krtv1.WorkflowRun{}
	if err := c.Get(ctx, client.ObjectKey{Namespace: ns, Name: args[0]}, wr); err != nil {
		return nil, err
	}
	if waiting := wfWaitingGates(wr); len(waiting) > 0 {
		return waiting, nil
	}
	var out []string
	def := &wr.Spec.Definition
	for _, list := range [][]krtv1.Step{def.Steps, def.Finally} {
		for _, s := range list {
			if s.Approval != nil {
				out = append(out, s.Name)
			}
		}
	}
	return out, nil
}
