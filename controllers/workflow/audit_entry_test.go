package workflow

import (
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	krtv1 "krt.dev/krt/api/v1alpha1"
)

// Each trigger names who created the run, as admission checked it, and
// says what the event was, with its sender as krt saw it.
func TestTriggerEntry(t *testing.T) {
	const ctl = "system:serviceaccount:krt-system:krt-controller"
	for _, tc := range []struct {
		name       string
		spec       krtv1.WorkflowRunSpec
		wantAction string
		wantUser   string
		wantDetail string
	}{
		{"a manual run", krtv1.WorkflowRunSpec{TriggeredBy: "alice",
			Event: krtv1.WorkflowEvent{Type: krtv1.EventManual, Manual: &krtv1.ManualEvent{User: "alice"}}},
			krtv1.AuditTrigger, "alice", "manual"},
		{"a manual run from before triggeredBy", krtv1.WorkflowRunSpec{
			Event: krtv1.WorkflowEvent{Type: krtv1.EventManual, Manual: &krtv1.ManualEvent{User: "alice"}}},
			krtv1.AuditTrigger, "alice", "manual"},
		{"a manual run the controller made for someone", krtv1.WorkflowRunSpec{TriggeredBy: ctl,
			Event: krtv1.WorkflowEvent{Type: krtv1.EventManual, Manual: &krtv1.ManualEvent{User: "alice"}}},
			krtv1.AuditTrigger, ctl, "manual, for alice"},
		{"a push", krtv1.WorkflowRunSpec{TriggeredBy: ctl, Event: krtv1.WorkflowEvent{Type: krtv1.EventPush,
			Push: &krtv1.PushEvent{Branch: "main", Revision: "main@sha1:abc"}}},
			krtv1.AuditTrigger, ctl, "push to main at main@sha1:abc"},
		{"a pull request", krtv1.WorkflowRunSpec{TriggeredBy: ctl, Event: krtv1.WorkflowEvent{Type: krtv1.EventPullRequest,
			PullRequest: &krtv1.PullRequest{Number: 7, HeadSHA: "abc", PushedBy: "dana", Author: "erin"}}},
			krtv1.AuditTrigger, ctl, "pull request #7 at abc, pushed by dana"},
		{"a pull request head with no known pusher", krtv1.WorkflowRunSpec{TriggeredBy: ctl, Event: krtv1.WorkflowEvent{
			Type: krtv1.EventPullRequest, PullRequest: &krtv1.PullRequest{Number: 7, HeadSHA: "abc"}}},
			krtv1.AuditTrigger, ctl, "pull request #7 at abc, pushed by no known user"},
		{"a schedule", krtv1.WorkflowRunSpec{TriggeredBy: ctl, Event: krtv1.WorkflowEvent{Type: krtv1.EventSchedule,
			Schedule: &krtv1.ScheduleEvent{Cron: "0 3 * * *"}}},
			krtv1.AuditTrigger, ctl, "schedule 0 3 * * *"},
		{"a push made by hand without triggeredBy", krtv1.WorkflowRunSpec{Event: krtv1.WorkflowEvent{Type: krtv1.EventPush,
			Push: &krtv1.PushEvent{Branch: "main", Revision: "r"}}},
			krtv1.AuditTrigger, "", "push to main at r"},
		{"a rerun", krtv1.WorkflowRunSpec{TriggeredBy: "bob", RerunOf: "deploy-x",
			Event: krtv1.WorkflowEvent{Type: krtv1.EventManual, Manual: &krtv1.ManualEvent{User: "bob"}}},
			krtv1.AuditRerun, "bob", "of deploy-x; manual"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := triggerEntry(&krtv1.WorkflowRun{Spec: tc.spec})
			if e.Action != tc.wantAction || e.User != tc.wantUser || e.Detail != tc.wantDetail {
				t.Errorf("entry %q by %q: %q; want %q by %q: %q", e.Action, e.User, e.Detail, tc.wantAction, tc.wantUser, tc.wantDetail)
			}
		})
	}
}

func TestDecisionEntry(t *testing.T) {
	created := metav1.Now()
	for _, tc := range []struct {
		name       string
		spec       krtv1.ApprovalSpec
		wantAction string
		wantDetail string
	}{
		{"a gate approved", krtv1.ApprovalSpec{Decision: "approve", User: "bob", Step: "deploy[prod]"},
			krtv1.AuditApprove, "step deploy[prod]"},
		{"a gate rejected, with a comment", krtv1.ApprovalSpec{Decision: "reject", User: "bob", Step: "deploy", Comment: "not today"},
			krtv1.AuditReject, "step deploy: not today"},
		{"a pull request's run approved", krtv1.ApprovalSpec{Decision: "approve", User: "bob", HeadSHA: "abc"},
			krtv1.AuditApprove, "the run, at head abc"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := &krtv1.Approval{ObjectMeta: metav1.ObjectMeta{Name: "a1", CreationTimestamp: created}, Spec: tc.spec}
			e := decisionEntry(a)
			if e.Action != tc.wantAction || e.User != "bob" || e.Detail != tc.wantDetail || e.Approval != "a1" || !e.Time.Equal(&created) {
				t.Errorf("entry %+v; want %q by bob: %q, from a1 at its creation", e, tc.wantAction, tc.wantDetail)
			}
		})
	}
}
