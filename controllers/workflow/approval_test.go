package workflow

import (
	"context"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/record"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"

	"krt.dev/krt/api/scheme"
	krtv1 "krt.dev/krt/api/v1alpha1"
)

func approval(step, decision, user string, groups ...string) krtv1.Approval {
	return krtv1.Approval{Spec: krtv1.ApprovalSpec{WorkflowRun: "wr", Step: step, Decision: decision, User: user, Groups: groups}}
}

func TestAllowed(t *testing.T) {
	approvers := []string{"alice", "group:release-managers"}
	tests := []struct {
		name string
		a    krtv1.Approval
		want bool
	}{
		{"by name", approval("s", "approve", "alice"), true},
		{"by group", approval("s", "approve", "bob", "dev", "release-managers"), true},
		{"neither", approval("s", "approve", "mallory", "dev"), false},
		{"a group is not a name", approval("s", "approve", "release-managers"), false},
		{"a name is not a group", approval("s", "approve", "carol", "alice"), false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := allowed(&tc.a.Spec, approvers); got != tc.want {
				t.Errorf("allowed = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestDecide(t *testing.T) {
	approvers := []string{"group:ops"}
	tests := []struct {
		name        string
		list        []krtv1.Approval
		wantUser    string
		wantIgnored []string
	}{
		{"none", nil, "", nil},
		{"outsider ignored, noted once", []krtv1.Approval{approval("gate", "approve", "eve"), approval("gate", "approve", "eve")}, "", []string{"eve"}},
		{"first allowed decision wins", []krtv1.Approval{
			approval("gate", "approve", "eve"), approval("gate", "reject", "olga", "ops"), approval("gate", "approve", "oscar", "ops"),
		}, "olga", []string{"eve"}},
		{"node name matches", []krtv1.Approval{approval("gate[eu]", "approve", "olga", "ops")}, "olga", nil},
		{"other gates and the run's own approval do not count", []krtv1.Approval{
			approval("other", "approve", "olga", "ops"), approval("", "approve", "olga", "ops"),
		}, "", nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a, ignored := decide(tc.list, "gate[eu]", "gate", approvers)
			user := ""
			if a != nil {
				user = a.Spec.User
			}
			if user != tc.wantUser {
				t.Errorf("decided by %q, want %q", user, tc.wantUser)
			}
			if d := cmp.Diff(tc.wantIgnored, ignored); d != "" {
				t.Errorf("ignored (-want +got):\n%s", d)
			}
		})
	}
}

func TestShort(t *testing.T) {
	for d, want := range map[time.Duration]string{
		24 * time.Hour: "24h", 2 * time.Second: "2s", 90 * time.Second: "1m30s", 2 * time.Minute: "2m", 90 * time.Minute: "1h30m",
	} {
		if got := short(d); got != want {
			t.Errorf("short(%v) = %q, want %q", d, got, want)
		}
	}
}

func TestAwaitRunApproval(t *testing.T) {
	pr := func(user, sha, decision string) *krtv1.Approval {
		return &krtv1.Approval{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: user + "-" + sha},
			Spec: krtv1.ApprovalSpec{WorkflowRun: "wr", WorkflowRunUID: "wr-uid", HeadSHA: sha, Decision: decision, User: user}}
	}
	tests := []struct {
		name      string
		approvals []client.Object
		wantGo    bool
		wantPhase krtv1.WorkflowRunPhase
		wantBy    string
	}{
		{"nobody yet", nil, false, krtv1.WorkflowAwaitingApproval, ""},
		{"an older head does not count", []client.Object{pr("alice", "old", "approve")}, false, krtv1.WorkflowAwaitingApproval, ""},
		{"approved", []client.Object{pr("alice", "abc", "approve")}, true, krtv1.WorkflowRunning, "alice"},
		{"rejected", []client.Object{pr("bob", "abc", "reject")}, false, krtv1.WorkflowFailed, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := fake.NewClientBuilder().WithScheme(scheme.New()).
				WithIndex(&krtv1.Approval{}, indexApprovalRun, approvalRun).WithObjects(tc.approvals...).Build()
			r := &Reconciler{client: c, recorder: record.NewFakeRecorder(8), now: time.Now}
			wr := &krtv1.WorkflowRun{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "wr", UID: "wr-uid"},
				Spec: krtv1.WorkflowRunSpec{Event: krtv1.WorkflowEvent{Type: krtv1.EventPullRequest,
					PullRequest: &krtv1.PullRequest{Number: 1, HeadSHA: "abc", Base: "main"}}},
				Status: krtv1.WorkflowRunStatus{Phase: krtv1.WorkflowAwaitingApproval}}
			ok, err := r.newPass(wr).awaitRunApproval(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if ok != tc.wantGo || wr.Status.Phase != tc.wantPhase || wr.Status.ApprovedBy != tc.wantBy {
				t.Errorf("go on %v, phase %s, approvedBy %q", ok, wr.Status.Phase, wr.Status.ApprovedBy)
			}
		})
	}
}
