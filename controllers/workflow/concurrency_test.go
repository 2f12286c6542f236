package workflow

import (
	"context"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/record"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"

	"krt.dev/krt/api/scheme"
	krtv1 "krt.dev/krt/api/v1alpha1"
)

func groupRun(name string, created time.Time, phase krtv1.WorkflowRunPhase, cancel bool) *krtv1.WorkflowRun {
	return &krtv1.WorkflowRun{
		ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: name, CreationTimestamp: metav1.NewTime(created)},
		Spec:       krtv1.WorkflowRunSpec{Workflow: "wf", ConcurrencyGroup: "g", CancelInProgress: cancel},
		Status:     krtv1.WorkflowRunStatus{Phase: phase},
	}
}

func TestAdmit(t *testing.T) {
	t0 := time.Now().Truncate(time.Second)
	tests := []struct {
		name       string
		others     []client.Object
		cancel     bool
		wantPhase  krtv1.WorkflowRunPhase
		wantMsg    string
		wantCancel []string
	}{
		{"alone", nil, false, krtv1.WorkflowRunning, "", nil},
		{"older ones ended", []client.Object{groupRun("a", t0.Add(-time.Minute), krtv1.WorkflowSucceeded, false)},
			false, krtv1.WorkflowRunning, "", nil},
		{"newer ones do not hold it", []client.Object{groupRun("z", t0.Add(time.Minute), krtv1.WorkflowRunning, false)},
			false, krtv1.WorkflowRunning, "", nil},
		{"waits for the oldest", []client.Object{
			groupRun("b", t0.Add(-time.Minute), krtv1.WorkflowPending, false),
			groupRun("a", t0.Add(-2*time.Minute), krtv1.WorkflowRunning, false),
		}, false, krtv1.WorkflowPending, "waiting for a in concurrency group g", nil},
		{"a tie goes by name", []client.Object{groupRun("l", t0, krtv1.WorkflowRunning, false)},
			false, krtv1.WorkflowPending, "waiting for l", nil},
		{"cancels the older ones", []client.Object{
			groupRun("a", t0.Add(-time.Minute), krtv1.WorkflowRunning, false),
			groupRun("b", t0.Add(-time.Minute), krtv1.WorkflowAwaitingApproval, false),
			groupRun("c", t0.Add(-time.Minute), krtv1.WorkflowFailed, false),
		}, true, krtv1.WorkflowRunning, "", []string{"a", "b"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := fake.NewClientBuilder().WithScheme(scheme.New()).
				WithIndex(&krtv1.WorkflowRun{}, indexGroup, runGroup).WithObjects(tc.others...).Build()
			r := &Reconciler{client: c, recorder: record.NewFakeRecorder(8), now: time.Now}
			wr := groupRun("m", t0, "", tc.cancel)
			ok, err := r.newPass(wr).admit(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if ok != (tc.wantPhase == krtv1.WorkflowRunning) || wr.Status.Phase != tc.wantPhase || !strings.Contains(wr.Status.Message, tc.wantMsg) {
				t.Errorf("ok %v phase %s message %q", ok, wr.Status.Phase, wr.Status.Message)
			}
			for _, o := range tc.others {
				got := &krtv1.WorkflowRun{}
				if err := c.Get(context.Background(), client.ObjectKeyFromObject(o), got); err != nil {
					t.Fatal(err)
				}
				want := false
				for _, n := range tc.wantCancel {
					want = want || n == got.Name
				}
				if got.Spec.CancelRequested != want {
					t.Errorf("run %s cancelRequested = %v, want %v", got.Name, got.Spec.CancelRequested, want)
				}
			}
		})
	}
}

func TestRunApprovalRespectsRepositoryApprovers(t *testing.T) {
	wf := &krtv1.Workflow{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "wf", Labels: map[string]string{krtv1.LabelRepository: "web"}}}
	repo := &krtv1.WorkflowRepository{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "web"},
		Spec: krtv1.WorkflowRepositorySpec{PullRequests: &krtv1.PullRequestPolicy{Approvers: []string{"group:maintainers"}}}}
	approval := func(user string, groups ...string) *krtv1.Approval {
		return &krtv1.Approval{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: user},
			Spec: krtv1.ApprovalSpec{WorkflowRun: "wr", WorkflowRunUID: "wr-uid", HeadSHA: "abc", Decision: "approve", User: user, Groups: groups}}
	}
	for _, tc := range []struct {
		name   string
		objs   []client.Object
		wantBy string
	}{
		{"an outsider is ignored", []client.Object{wf, repo, approval("mallory")}, ""},
		{"a maintainer approves", []client.Object{wf, repo, approval("mallory"), approval("olga", "maintainers")}, "olga"},
		{"no repository: anyone", []client.Object{approval("mallory")}, "mallory"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := fake.NewClientBuilder().WithScheme(scheme.New()).
				WithIndex(&krtv1.Approval{}, indexApprovalRun, approvalRun).WithObjects(tc.objs...).Build()
			r := &Reconciler{client: c, recorder: record.NewFakeRecorder(8), now: time.Now}
			wr := &krtv1.WorkflowRun{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "wr", UID: "wr-uid"},
				Spec: krtv1.WorkflowRunSpec{Workflow: "wf", RequireApproval: true, Event: krtv1.WorkflowEvent{Type: krtv1.EventPullRequest,
					PullRequest: &krtv1.PullRequest{Number: 1, HeadSHA: "abc", Base: "main"}}},
				Status: krtv1.WorkflowRunStatus{Phase: krtv1.WorkflowAwaitingApproval}}
			if _, err := r.newPass(wr).awaitRunApproval(context.Background()); err != nil {
				t.Fatal(err)
			}
			if wr.Status.ApprovedBy != tc.wantBy {
				t.Errorf("approvedBy %q, want %q (message %q)", wr.Status.ApprovedBy, tc.wantBy, wr.Status.Message)
			}
			if tc.wantBy == "" && !strings.Contains(wr.Status.Message, "ignored the decision of mallory") {
				t.Errorf("message = %q", wr.Status.Message)
			}
		})
	}
}

// Two runs made in one second are ordered by when they were stamped, not
// by their names, which for PR heads are commit hashes.
func TestBefore(t *testing.T) {
	t0 := time.Now().Truncate(time.Second)
	run := func(name string, created time.Time, queued string) *krtv1.WorkflowRun {
		wr := &krtv1.WorkflowRun{ObjectMeta: metav1.ObjectMeta{Name: name, CreationTimestamp: metav1.NewTime(created)}}
		if queued != "" {
			wr.Annotations = map[string]string{krtv1.AnnotationQueuedAt: queued}
		}
		return wr
	}
	early, late := t0.Add(100*time.Millisecond).Format(time.RFC3339Nano), t0.Add(900*time.Millisecond).Format(time.RFC3339Nano)
	for _, tc := range []struct {
		name string
		a, b *krtv1.WorkflowRun
		want bool
	}{
		{"an earlier second wins over the stamps", run("pr1-fff", t0, late), run("pr1-000", t0.Add(time.Second), early), true},
		{"one second: the stamp decides", run("pr1-fff", t0, early), run("pr1-000", t0, late), true},
		{"one second: the later stamp is after", run("pr1-000", t0, late), run("pr1-fff", t0, early), false},
		{"no stamps: the name decides", run("a", t0, ""), run("b", t0, ""), true},
		{"one stamp missing: the name decides", run("b", t0, early), run("a", t0, ""), false},
	} {
		if got := before(tc.a, tc.b); got != tc.want {
			t.Errorf("%s: before = %v, want %v", tc.name, got, tc.want)
		}
	}
}
