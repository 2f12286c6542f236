package cli

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/spf13/cobra"
	authenticationv1 "k8s.io/api/authentication/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	krtv1 "krt.dev/krt/api/v1alpha1"
	"krt.dev/krt/workflows/dag"
	"krt.dev/krt/workflows/expr"
	"krt.dev/krt/workflows/runs"
)

// Decisions, as an Approval's spec.decision spells them.
const (
	wfApprove = "approve"
	wfReject  = "reject"
)

// wfMaxGroups is the most groups an Approval may carry (its CRD's
// MaxItems).
const wfMaxGroups = 64

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
	gate, head, err := wfDecisionTarget(wr, step)
	if err != nil {
		return err
	}
	me, err := r.whoami(ctx)
	if err != nil {
		return err
	}
	var approvers []string
	if gate != nil {
		approvers = gate.Approval.Approvers
		if !wfMayDecide(me, approvers) {
			return fmt.Errorf("you (%s) may not decide step %s of run %s: its approvers are %s",
				me.Username, step, run, strings.Join(approvers, ", "))
		}
	}
	// Pinned to the run's UID, and owned by the run: deleted with it, and
	// never a decision on another run that takes its name.
	a := &krtv1.Approval{
		ObjectMeta: metav1.ObjectMeta{GenerateName: run + "-", Namespace: s.ns,
			OwnerReferences: []metav1.OwnerReference{{APIVersion: krtv1.GroupVersion.String(), Kind: "WorkflowRun",
				Name: wr.Name, UID: wr.UID}}},
		Spec: krtv1.ApprovalSpec{WorkflowRun: run, WorkflowRunUID: wr.UID, Step: step, Decision: decision, HeadSHA: head,
			User: me.Username, Groups: wfGroups(me.Groups, approvers), Comment: comment},
	}
	if err := s.c.Create(ctx, a); err != nil {
		return err
	}
	fmt.Fprintln(r.Out, wfDecided(decision, run, step, head, me.Username))
	if gate == nil {
		// A pull request's run: what was decided is more than a commit.
		env, err := expr.NewEnv()
		if err != nil {
			return err
		}
		fmt.Fprintln(r.Out, "  "+runs.Uses(ctx, env, wr))
	}
	return nil
}

// wfDecided says what was done: "approved step X of run Y as Z".
func wfDecided(decision, run, step, head, user string) string {
	done := map[string]string{wfApprove: "approved", wfReject: "rejected"}[decision]
	if step == "" {
		return fmt.Sprintf("%s run %s at %s as %s", done, run, orDash(head), user)
	}
	return fmt.Sprintf("%s step %s of run %s as %s", done, step, run, user)
}

// wfDecisionTarget checks that there is something to decide: the gate
// named by step, waiting; or with no step, a pull request's run on hold,
// whose head SHA the approval is for. A decision on nothing would be
// accepted by the API server and then ignored, so it is refused here.
func wfDecisionTarget(wr *krtv1.WorkflowRun, step string) (*krtv1.Step, string, error) {
	if wr.Status.Phase.Terminal() {
		return nil, "", fmt.Errorf("run %s has already ended (%s)", wr.Name, wr.Status.Phase)
	}
	if step == "" {
		if wr.Status.Phase == krtv1.WorkflowAwaitingApproval {
			head := ""
			if pr := wr.Spec.Event.PullRequest; pr != nil {
				head = pr.HeadSHA
			}
			return nil, head, nil
		}
		if waiting := wfWaitingGates(wr); len(waiting) > 0 {
			return nil, "", fmt.Errorf("run %s is not awaiting approval itself; name the step to decide: %s", wr.Name, strings.Join(waiting, ", "))
		}
		return nil, "", fmt.Errorf("run %s is not waiting for an approval", wr.Name)
	}
	gate := wfStep(wr, dag.StepOf(step))
	switch {
	case gate == nil:
		return nil, "", fmt.Errorf("run %s has no step %s", wr.Name, dag.StepOf(step))
	case gate.Approval == nil:
		return nil, "", fmt.Errorf("step %s of run %s is not an approval step; %s", step, wr.Name, wfGateNames(wr))
	}
	return gate, "", wfGateWaiting(wr, gate, step)
}

// wfGateWaiting checks that the gate (or the one node named) is waiting,
// and otherwise says where it is.
func wfGateWaiting(wr *krtv1.WorkflowRun, gate *krtv1.Step, step string) error {
	var seen *krtv1.NodeStatus
	for i := range wr.Status.Nodes {
		n := &wr.Status.Nodes[i]
		if n.Name != step && dag.StepOf(n.Name) != step {
			continue
		}
		if n.Phase == krtv1.NodeWaiting {
			return nil
		}
		seen = n
	}
	if seen == nil {
		why := ""
		if len(gate.Needs) > 0 {
			why = ": it needs " + strings.Join(gate.Needs, ", ")
		}
		return fmt.Errorf("step %s of run %s is not waiting for approval yet%s", step, wr.Name, why)
	}
	msg := fmt.Sprintf("step %s of run %s is not waiting for approval: it is %s", step, wr.Name, seen.Phase)
	if seen.Message != "" {
		msg += " (" + seen.Message + ")"
	}
	return fmt.Errorf("%s", msg)
}

// wfWaitingGates names the gate nodes of a run that wait for a decision.
func wfWaitingGates(wr *krtv1.WorkflowRun) []string {
	var out []string
	for _, n := range wr.Status.Nodes {
		if n.Phase == krtv1.NodeWaiting && wfIsGate(wr, n.Name) {
			out = append(out, n.Name)
		}
	}
	return out
}

func wfGateNames(wr *krtv1.WorkflowRun) string {
	var gates []string
	def := &wr.Spec.Definition
	for _, list := range [][]krtv1.Step{def.Steps, def.Finally} {
		for _, s := range list {
			if s.Approval != nil {
				gates = append(gates, s.Name)
			}
		}
	}
	if len(gates) == 0 {
		return "the run has none"
	}
	return "its approval steps are " + strings.Join(gates, ", ")
}

// wfMayDecide is the engine's own test of an approver, by name or by a
// "group:<name>" the caller is in. A decision by anyone else is recorded
// and ignored, which would leave the caller waiting for nothing.
func wfMayDecide(me authenticationv1.UserInfo, approvers []string) bool {
	for _, who := range approvers {
		if group, ok := strings.CutPrefix(who, "group:"); ok {
			if slices.Contains(me.Groups, group) {
				return true
			}
		} else if who == me.Username {
			return true
		}
	}
	return false
}

// wfGroups are the groups an Approval carries: all of the caller's, or
// if there are more than an Approval holds, those the gate names.
func wfGroups(mine, approvers []string) []string {
	if len(mine) <= wfMaxGroups {
		return mine
	}
	var out []string
	for _, g := range mine {
		if slices.Contains(approvers, "group:"+g) && len(out) < wfMaxGroups {
			out = append(out, g)
		}
	}
	return out
}

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
	if wr.Status.Phase.Terminal() {
		fmt.Fprintf(r.Out, "workflowrun.krt.dev/%s already %s\n", name, strings.ToLower(string(wr.Status.Phase)))
		return nil
	}
	if wr.Spec.CancelRequested {
		// The first cancel's author stays on record; a second adds nothing.
		fmt.Fprintf(r.Out, "workflowrun.krt.dev/%s cancel already requested by %s\n", name, orDash(wr.Spec.CancelledBy))
		return nil
	}
	base := wr.DeepCopy()
	wr.Spec.CancelRequested, wr.Spec.CancelledBy = true, me
	if err := s.c.Patch(ctx, wr, client.MergeFrom(base)); err != nil {
		return err
	}
	fmt.Fprintf(r.Out, "workflowrun.krt.dev/%s cancel requested\n", name)
	return nil
}
