package cli

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	krtv1 "krt.dev/krt/api/v1alpha1"
	"krt.dev/krt/cmd/krt/runops"
)

func (r *root) wfRerunCommand() *cobra.Command {
	var wait bool
	cmd := &cobra.Command{
		Use:   "rerun RUN [--wait]",
		Short: "Start a new run with what an earlier run started with",
		Long: `Rerun creates a WorkflowRun with RUN's definition, tools, params, revision and
event, in your name as the API server knows you, and prints its name. The new
run records spec.rerunOf, and its history starts with a rerun by you. A pull
request's run that needed an approval needs one again: an approval holds for
one run only.

With --wait it reports progress on stderr until the run ends, and exits 0
when it succeeded, 1 when it failed and 130 when it was cancelled.`,
		Args:              cobra.ExactArgs(1),
		ValidArgsFunction: r.complete(1, listWorkflowRuns(nil)),
		RunE: func(cmd *cobra.Command, args []string) error {
			return r.wfRerun(cmd.Context(), args[0], wait)
		},
	}
	cmd.Flags().BoolVarP(&wait, "wait", "w", false, "wait for the run to end, showing its progress")
	return cmd
}

func (r *root) wfRerun(ctx context.Context, name string, wait bool) error {
	s, err := r.wfSession()
	if err != nil {
		return err
	}
	old, err := s.run(ctx, name)
	if err != nil {
		return err
	}
	me, err := r.whoami(ctx)
	if err != nil {
		return err
	}
	wr, err := runops.Rerun(ctx, s.c, old, me.Username)
	if err != nil {
		return err
	}
	fmt.Fprintln(r.Out, wr.Name)
	if !wait {
		return nil
	}
	return r.wfWait(ctx, s.c, wr)
}

// wfRerunOf is runops.RerunOf, shared with the web UI.
var wfRerunOf = runops.RerunOf

// rerunOwners: see runops.RerunOwners.
func (s *wfSession) rerunOwners(ctx context.Context, old *krtv1.WorkflowRun) ([]metav1.OwnerReference, error) {
	return runops.RerunOwners(ctx, s.c, old)
}
