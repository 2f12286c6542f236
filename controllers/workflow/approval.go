package workflow

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	krtv1 "krt.dev/krt/api/v1alpha1"
	"krt.dev/krt/workflows/runs"
)

// indexApprovalRun maps an Approval to the WorkflowRun it decides on.
const indexApprovalRun = "krt.approval.workflowRun"

const (
	decisionApprove = "approve"
	decisionReject  = "reject"
)

// listApprovals reads the run's Approvals once per pass, oldest first, so
// the first allowed decision is the one that counts whatever else comes.
// Only those for the run's UID are its own: an Approval of a run deleted
// and made again under the same name, or naming another run's UID, is
// left out, whatever its name says.
func (p *pass) listApprovals(ctx context.Context) ([]krtv1.Approval, error) {
	if p.listed {
		return p.approvals, nil
	}
	list := &krtv1.ApprovalList{}
	if err := p.r.client.List(ctx, list, client.InNamespace(p.wr.Namespace),
		client.MatchingFields{indexApprovalRun: p.wr.Name}); err != nil {
		return nil, err
	}
	list.Items = slices.DeleteFunc(list.Items, func(a krtv1.Approval) bool {
		return a.Spec.WorkflowRunUID == "" || a.Spec.WorkflowRunUID != p.wr.UID
	})
	slices.SortFunc(list.Items, func(a, b krtv1.Approval) int {
		if c := a.CreationTimestamp.Compare(b.CreationTimestamp.Time); c != 0 {
			return c
		}
		return cmp.Compare(a.Name, b.Name)
	})
	p.approvals, p.listed = list.Items, true
	return p.approvals, nil
}

// allowed reports whether an Approval's author is among the approvers: by
// name, or by a "group:<name>" the author belongs to. The admission
// policy has checked that user and groups are the author's own.
func allowed(a *krtv1.ApprovalSpec, approvers []string) bool {
	for _, who := range approvers {
		if group, ok := strings.CutPrefix(who, "group:"); ok {
			if slices.Contains(a.Groups, group) {
				return true
			}
		} else if who == a.User {
			return true
		}
	}
	return false
}

// decide finds the first decision on a gate by an allowed approver. An
// Approval names the gate's node, or its step for every item at once. The
// users who decided without being allowed are returned, to be shown.
func decide(list []krtv1.Approval, node, step string, approvers []string) (*krtv1.Approval, []string) {
	var ignored []string
	for i := range list {
		a := &list[i]
		if a.Spec.Step == "" || (a.Spec.Step != node && a.Spec.Step != step) {
			continue
		}
		if allowed(&a.Spec, approvers) {
			return a, ignored
		}
		if !slices.Contains(ignored, a.Spec.User) {
			ignored = append(ignored, a.Spec.User)
		}
	}
	return nil, ignored
}

// gate holds an approval node until an allowed approver decides, or its
// timeout, counted from when the gate opened, passes.
func (p *pass) gate(ctx context.Context, s *krtv1.Step, n *krtv1.NodeStatus) {
	if n.Started == nil {
		t := metav1.NewTime(p.now)
		n.Started = &t
	}
	list, err := p.listApprovals(ctx)
	if err != nil {
		p.errs = append(p.errs, err)
		return
	}
	a, ignored := decide(list, n.Name, s.Name, s.Approval.Approvers)
	if a != nil {
		p.decideGate(n, a)
		return
	}
	if t := s.Approval.Timeout; t != nil {
		deadline := n.Started.Add(t.Duration)
		if !p.now.Before(deadline) {
			p.settle(n, krtv1.NodeFailed, "approval timed out after "+short(t.Duration))
			return
		}
		p.wakeAt(deadline)
	}
	msg := "waiting for approval by " + strings.Join(s.Approval.Approvers, ", ")
	if len(ignored) > 0 {
		msg += fmt.Sprintf("; ignored the decision of %s, who is not an approver", strings.Join(ignored, ", "))
	}
	n.Phase, n.Message = krtv1.NodeWaiting, clip(msg, maxNodeMessage)
}

func (p *pass) decideGate(n *krtv1.NodeStatus, a *krtv1.Approval) {
	n.ApprovedBy = clip(a.Spec.User, 255)
	if a.Spec.Decision == decisionApprove {
		p.settle(n, krtv1.NodeSucceeded, "approved by "+a.Spec.User)
		return
	}
	msg := "rejected by " + a.Spec.User
	if a.Spec.Comment != "" {
		msg += ": " + a.Spec.Comment
	}
	p.settle(n, krtv1.NodeFailed, msg)
}

// awaitRunApproval holds a pull request's run until someone approves its
// head commit; it reports whether the run is now Running. When the run's
// repository names approvers only their decisions count; when it names
// none, anyone the API server lets create an Approval here may decide.
func (p *pass) awaitRunApproval(ctx context.Context) (bool, error) {
	head := ""
	if pr := p.wr.Spec.Event.PullRequest; pr != nil {
		head = pr.HeadSHA
	}
	list, err := p.listApprovals(ctx)
	if err != nil {
		return false, err
	}
	approvers, err := p.prApprovers(ctx)
	if err != nil {
		return false, err
	}
	var ignored []string
	for _, a := range list {
		if a.Spec.Step != "" || a.Spec.HeadSHA != head {
			continue
		}
		if len(approvers) > 0 && !allowed(&a.Spec, approvers) {
			if !slices.Contains(ignored, a.Spec.User) {
				ignored = append(ignored, a.Spec.User)
			}
			continue
		}
		if a.Spec.Decision == decisionReject {
			p.end(krtv1.WorkflowFailed, ReasonFailed, fmt.Sprintf("%s rejected the run of %s", a.Spec.User, head))
			return false, nil
		}
		p.wr.Status.ApprovedBy = clip(a.Spec.User, 255)
		return p.admit(ctx)
	}
	msg := "waiting for an approval of " + head
	if len(approvers) > 0 {
		msg += " by " + strings.Join(approvers, ", ")
	}
	// What is approved is more than a commit: say where it runs and
	// with which Secrets.
	msg += "; " + runs.Uses(ctx, p.r.expr, p.wr)
	if len(ignored) > 0 {
		msg += fmt.Sprintf("; ignored the decision of %s, who is not an approver", strings.Join(ignored, ", "))
	}
	p.wr.Status.Message = krtv1.TruncateMessage(msg)
	markRunning(p.wr, ReasonAwaitingApproval, msg)
	return false, nil
}

// prApprovers are the pull request approvers of the run's repository,
// named by the run's own label (the trigger's word), else by its
// Workflow's (the source controller's). The run's label comes first: a
// run of a workflow that only a PR head defines has no Workflow object,
// and one applied by hand under that name must not lift its approvers.
// None when there is no repository: a workflow applied by hand.
func (p *pass) prApprovers(ctx context.Context) ([]string, error) {
	name := p.wr.Labels[krtv1.LabelRepository]
	if name == "" && p.wr.Spec.Workflow != "" {
		wf := &krtv1.Workflow{}
		err := p.r.client.Get(ctx, client.ObjectKey{Namespace: p.wr.Namespace, Name: p.wr.Spec.Workflow}, wf)
		if client.IgnoreNotFound(err) != nil {
			return nil, err
		}
		if err == nil {
			name = wf.Labels[krtv1.LabelRepository]
		}
	}
	if name == "" {
		return nil, nil
	}
	repo := &krtv1.WorkflowRepository{}
	if err := p.r.client.Get(ctx, client.ObjectKey{Namespace: p.wr.Namespace, Name: name}, repo); err != nil {
		return nil, client.IgnoreNotFound(err)
	}
	if pol := repo.Spec.PullRequests; pol != nil {
		return pol.Approvers, nil
	}
	return nil, nil
}

// short writes a duration as people do: 24h, not 24h0m0s.
func short(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}
