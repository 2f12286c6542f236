package cli

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"

	"krt.dev/krt/cmd/krt/runops"
	"krt.dev/krt/workflows/expr"
	"krt.dev/krt/workflows/runs"
)

// Decisions, as an Approval's spec.decision spells them.
const (
	wfApprove = runops.Approve
	wfReject  = runops.Reject
)

func (r *root) wfDecideCommand(decision string) *cobra.Command {
	var comment string
	verb := map[string]string{wfApprove: "Approve", wfReject: "Reject"}[decision]
	cmd := &cobra.Command{
		Use:   decision + " RUN [STEP] [--comment C]",
		Short: verb + " an approval step of a run, or a pull request's run awaiting approval",
		Long: verb + ` creates an Approval in your name as the API server knows you
(the admission policy refuses any other). Name the STEP of a gate that is
waiting, or the node of one item of it (step[item]); leave STEP out for a pull
request's run that is AwaitingApproval: the approval is then for its head commit.`,
		Args:              cobra.RangeArgs(1, 2),
		ValidArgsFunction: r.completeDecision(),
		RunE: func(cmd *cobra.Command, args []string) error {
			step := ""
			if len(args) == 2 {
				step = args[1]
			}
			return r.wfDecide(cmd.Context(), decision, args[0], step, comment)
		},
	}
	cmd.Flags().StringVarP(&comment, "comment", "m", "", "why, kept on the Approval (and shown on a rejected step)")
	return cmd
}

func (r *root) wfDecide(ctx context.Context, decision, run, step, comment string) error {
	s, err := r.wfSession()
	if err != nil {
		return err
	}
	wr, err := s.run(ctx, run)
	if err != nil {
		return err
	}
	// What there is to decide is checked before asking who you are, so
	// that a decision on nothing says so first.
	if _, _, err := runops.DecisionTarget(wr, step); err != nil {
		return err
	}
	me, err := r.whoami(ctx)
	if err != nil {
		return err
	}
	a, err := runops.NewApproval(runops.Decision{Run: wr, Step: step, Decision: decision, Comment: comment}, me)
	if err != nil {
		return err
	}
	if err := s.c.Create(ctx, a); err != nil {
		return err
	}
	fmt.Fprintln(r.Out, runops.Decided(a))
	if step == "" {
		// A pull request's run: what was decided is more than a commit.
		env, err := expr.NewEnv()
		if err != nil {
			return err
		}
		fmt.Fprintln(r.Out, "  "+runs.Uses(ctx, env, wr))
	}
	return nil
}

// The decision's checks live in runops, shared with the web UI.
var (
	wfDecisionTarget = runops.DecisionTarget
	wfGroups         = runops.Groups
	wfWaitingGates   = runops.WaitingGates
)

func (r *root) wfCancelCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "cancel RUN...",
		Short: "Ask workflow runs to stop",
		Long: `Cancel sets spec.cancelRequested on each run, and spec.cancelledBy to your name
as the API server knows you (the admission policy refuses any other). Its
running steps' Runs are asked to stop, every node not yet done ends Cancelled,
and finally steps do not run. krt wf history shows who cancelled.`,
		Args:              cobra.MinimumNArgs(1),
		ValidArgsFunction: r.complete(0, listWorkflowRuns(wfRunUnfinished)),
		RunE: func(cmd *cobra.Command, args []string) error {
			s, err := r.wfSession()
			if err != nil {
				return err
			}
			me, err := r.whoami(cmd.Context())
			if err != nil {
				return err
			}
			for _, name := range args {
				if err := r.wfCancel(cmd.Context(), s, name, me.Username); err != nil {
					return err
				}
			}
			return nil
		},
	}
}

func (r *root) wfCancel(ctx context.Context, s *wfSession, name, me string) error {
	wr, err := s.run(ctx, name)
	if err != nil {
		return err
	}
	said, err := runops.Cancel(ctx, s.c, wr, me)
	if err != nil {
		return err
	}
	fmt.Fprintln(r.Out, said)
	return nil
}
