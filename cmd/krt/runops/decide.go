package runops

import (
	"fmt"
	"slices"
	"strings"

	authenticationv1 "k8s.io/api/authentication/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	krtv1 "krt.dev/krt/api/v1alpha1"
	"krt.dev/krt/workflows/dag"
)

// Decisions, as an Approval's spec.decision spells them.
const (
	Approve = "approve"
	Reject  = "reject"
)

// maxGroups is the most groups an Approval may carry (its CRD's MaxItems).
const maxGroups = 64

// Decision is an approval or a rejection about to be made.
type Decision struct {
	Run      *krtv1.WorkflowRun
	Step     string // empty for a pull request's run awaiting approval
	Decision string // Approve or Reject
	Comment  string
}

// NewApproval checks that there is something to decide and that me may
// decide it, then returns the Approval to create. The engine ignores a
// decision by anyone else, or on nothing, which the API server would
// accept and leave the caller waiting for nothing: so it is refused here.
func NewApproval(d Decision, me authenticationv1.UserInfo) (*krtv1.Approval, error) {
	wr := d.Run
	gate, head, err := DecisionTarget(wr, d.Step)
	if err != nil {
		return nil, err
	}
	var approvers []string
	if gate != nil {
		approvers = gate.Approval.Approvers
		if !MayDecide(me, approvers) {
			return nil, fmt.Errorf("you (%s) may not decide step %s of run %s: its approvers are %s",
				me.Username, d.Step, wr.Name, strings.Join(approvers, ", "))
		}
	}
	// Pinned to the run's UID, and owned by the run: deleted with it, and
	// never a decision on another run that takes its name.
	return &krtv1.Approval{
		ObjectMeta: metav1.ObjectMeta{GenerateName: wr.Name + "-", Namespace: wr.Namespace,
			OwnerReferences: []metav1.OwnerReference{{APIVersion: krtv1.GroupVersion.String(), Kind: "WorkflowRun",
				Name: wr.Name, UID: wr.UID}}},
		Spec: krtv1.ApprovalSpec{WorkflowRun: wr.Name, WorkflowRunUID: wr.UID, Step: d.Step, Decision: d.Decision, HeadSHA: head,
			User: me.Username, Groups: Groups(me.Groups, approvers), Comment: d.Comment},
	}, nil
}

// Decided says what was done: "approved step X of run Y as Z".
func Decided(a *krtv1.Approval) string {
	s := a.Spec
	done := map[string]string{Approve: "approved", Reject: "rejected"}[s.Decision]
	if s.Step == "" {
		head := s.HeadSHA
		if head == "" {
			head = "-"
		}
		return fmt.Sprintf("%s run %s at %s as %s", done, s.WorkflowRun, head, s.User)
	}
	return fmt.Sprintf("%s step %s of run %s as %s", done, s.Step, s.WorkflowRun, s.User)
}

// DecisionTarget checks that there is something to decide: the gate
// named by step, waiting; or with no step, a pull request's run on hold,
// whose head SHA the approval is for.
func DecisionTarget(wr *krtv1.WorkflowRun, step string) (*krtv1.Step, string, error) {
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
		if waiting := WaitingGates(wr); len(waiting) > 0 {
			return nil, "", fmt.Errorf("run %s is not awaiting approval itself; name the step to decide: %s", wr.Name, strings.Join(waiting, ", "))
		}
		return nil, "", fmt.Errorf("run %s is not waiting for an approval", wr.Name)
	}
	gate := StepNamed(wr, dag.StepOf(step))
	switch {
	case gate == nil:
		return nil, "", fmt.Errorf("run %s has no step %s", wr.Name, dag.StepOf(step))
	case gate.Approval == nil:
		return nil, "", fmt.Errorf("step %s of run %s is not an approval step; %s", step, wr.Name, gateNames(wr))
	}
	return gate, "", gateWaiting(wr, gate, step)
}

// gateWaiting checks that the gate (or the one node named) is waiting,
// and otherwise says where it is.
func gateWaiting(wr *krtv1.WorkflowRun, gate *krtv1.Step, step string) error {
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

// WaitingGates names the gate nodes of a run that wait for a decision.
func WaitingGates(wr *krtv1.WorkflowRun) []string {
	var out []string
	for _, n := range wr.Status.Nodes {
		if n.Phase == krtv1.NodeWaiting && IsGate(wr, n.Name) {
			out = append(out, n.Name)
		}
	}
	return out
}

// StepNamed is the step (or finally step) of the run's definition with
// that name, or nil.
func StepNamed(wr *krtv1.WorkflowRun, name string) *krtv1.Step {
	def := &wr.Spec.Definition
	for _, list := range [][]krtv1.Step{def.Steps, def.Finally} {
		for i := range list {
			if list[i].Name == name {
				return &list[i]
			}
		}
	}
	return nil
}

// IsGate says whether a node belongs to an approval step.
func IsGate(wr *krtv1.WorkflowRun, node string) bool {
	s := StepNamed(wr, dag.StepOf(node))
	return s != nil && s.Approval != nil
}

func gateNames(wr *krtv1.WorkflowRun) string {
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

// MayDecide is the engine's own test of an approver, by name or by a
// "group:<name>" the caller is in.
func MayDecide(me authenticationv1.UserInfo, approvers []string) bool {
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

// Groups are the groups an Approval carries: all of the caller's, or if
// there are more than an Approval holds, those the gate names.
func Groups(mine, approvers []string) []string {
	if len(mine) <= maxGroups {
		return mine
	}
	var out []string
	for _, g := range mine {
		if slices.Contains(approvers, "group:"+g) && len(out) < maxGroups {
			out = append(out, g)
		}
	}
	return out
}
