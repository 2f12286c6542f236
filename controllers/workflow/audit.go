package workflow

import (
	"context"
	"fmt"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	krtv1 "krt.dev/krt/api/v1alpha1"
	"krt.dev/krt/controllers/audit"
)

// maxDetail is an audit entry's detail's MaxLength.
const maxDetail = 512

// audit adds to the run's history what was done to it since the last
// pass: its trigger, its decisions and its cancel. The names are those
// the admission policies checked (triggeredBy, an Approval's user,
// cancelledBy), never ones the controller guesses.
func (p *pass) audit(ctx context.Context) error {
	actions := []krtv1.AuditEntry{triggerEntry(p.wr)}
	list, err := p.listApprovals(ctx)
	if err != nil {
		return err
	}
	for i := range list {
		actions = append(actions, decisionEntry(&list[i]))
	}
	if p.wr.Spec.CancelRequested {
		actions = append(actions, p.cancelEntry())
	}
	p.audited = audit.Merge(&p.wr.Status, actions)
	return nil
}

// triggerEntry is who made the run. A manual run made before triggeredBy
// existed still names its starter, whom the manual trigger policy
// checked.
func triggerEntry(wr *krtv1.WorkflowRun) krtv1.AuditEntry {
	e := krtv1.AuditEntry{Action: krtv1.AuditTrigger, User: wr.Spec.TriggeredBy, Time: wr.CreationTimestamp,
		Detail: eventDetail(wr)}
	if m := wr.Spec.Event.Manual; m != nil && e.User == "" {
		e.User = m.User
	}
	if wr.Spec.RerunOf != "" {
		e.Action, e.Detail = krtv1.AuditRerun, "of "+wr.Spec.RerunOf+"; "+e.Detail
	}
	e.Detail = clip(e.Detail, maxDetail)
	return e
}

// eventDetail says what the event was, with its sender as krt saw it.
func eventDetail(wr *krtv1.WorkflowRun) string {
	ev := &wr.Spec.Event
	switch {
	case ev.Push != nil:
		return fmt.Sprintf("push to %s at %s", orNone(ev.Push.Branch), ev.Push.Revision)
	case ev.PullRequest != nil:
		pr := ev.PullRequest
		return fmt.Sprintf("pull request #%d at %s, pushed by %s", pr.Number, pr.HeadSHA, orNone(pr.PushedBy))
	case ev.Schedule != nil:
		return "schedule " + ev.Schedule.Cron
	case ev.Manual != nil && ev.Manual.User != wr.Spec.TriggeredBy && wr.Spec.TriggeredBy != "":
		return "manual, for " + ev.Manual.User
	}
	return ev.Type
}

func orNone(s string) string {
	if s == "" {
		return "no known user"
	}
	return s
}

// decisionEntry is one Approval, dated by the API server's creation time.
func decisionEntry(a *krtv1.Approval) krtv1.AuditEntry {
	action := krtv1.AuditApprove
	if a.Spec.Decision == decisionReject {
		action = krtv1.AuditReject
	}
	detail := "the run, at head " + a.Spec.HeadSHA
	if a.Spec.Step != "" {
		detail = "step " + a.Spec.Step
	}
	if a.Spec.Comment != "" {
		detail += ": " + a.Spec.Comment
	}
	return krtv1.AuditEntry{Action: action, User: a.Spec.User, Time: a.CreationTimestamp,
		Detail: clip(detail, maxDetail), Approval: a.Name}
}

// cancelEntry is dated when the controller first saw the cancel: the API
// server keeps no time for one field's change.
func (p *pass) cancelEntry() krtv1.AuditEntry {
	e := krtv1.AuditEntry{Action: krtv1.AuditCancel, User: p.wr.Spec.CancelledBy, Time: metav1.NewTime(p.now)}
	switch {
	case e.User == "":
		e.Detail = "spec.cancelledBy is not set"
	case e.User == p.r.self && p.wr.Spec.ConcurrencyGroup != "":
		e.Detail = clip("a newer run of concurrency group "+p.wr.Spec.ConcurrencyGroup+" started", maxDetail)
	}
	return e
}
