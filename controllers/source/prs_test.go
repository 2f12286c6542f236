package source

import (
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	krtv1 "krt.dev/krt/api/v1alpha1"
)

// Each case applies events in order to an empty record of PR 1 and
// checks what a trust decision reads: the head, who pushed it, fork,
// whether it is open.
func TestPullRequestRecordFollowsTheHead(t *testing.T) {
	at := func(s int) metav1.Time { return metav1.NewTime(time.Date(2025, 1, 1, 0, 0, s, 0, time.UTC)) }
	ev := func(action, sha, sender string) krtv1.PullRequest {
		return krtv1.PullRequest{Number: 1, Action: action, HeadSHA: sha, PushedBy: sender, Base: "main"}
	}
	timed := func(pr krtv1.PullRequest, s int) krtv1.PullRequest { pr.EventTime = at(s); return pr }
	fork := func(pr krtv1.PullRequest) krtv1.PullRequest { pr.Fork = true; return pr }
	type want struct {
		sha, pushedBy, action string
		fork                  bool
	}
	cases := []struct {
		name   string
		events []krtv1.PullRequest
		want   want
	}{
		{"opened", []krtv1.PullRequest{ev("opened", "a", "alice")}, want{"a", "alice", "opened", false}},
		{"a push by another takes the trust with it",
			[]krtv1.PullRequest{ev("opened", "a", "alice"), ev("synchronize", "b", "mallory")}, want{"b", "mallory", "synchronize", false}},
		{"a reopen of the same head keeps who pushed it",
			[]krtv1.PullRequest{ev("opened", "a", "mallory"), ev("closed", "a", "alice"), ev("reopened", "a", "alice")},
			want{"a", "mallory", "reopened", false}},
		{"a close that brings a new head vouches for nobody",
			[]krtv1.PullRequest{ev("opened", "a", "alice"), ev("closed", "b", "alice"), ev("reopened", "b", "mallory")},
			want{"b", "", "reopened", false}},
		{"a closed PR stays closed without an event that reopens it",
			[]krtv1.PullRequest{ev("opened", "a", "alice"), ev("closed", "a", "alice")}, want{"a", "alice", "closed", false}},
		{"discovery of a new head knows no pusher",
			[]krtv1.PullRequest{ev("opened", "a", "alice"), ev("", "b", "")}, want{"b", "", "synchronize", false}},
		{"discovery of the same head changes nothing",
			[]krtv1.PullRequest{ev("opened", "a", "alice"), ev("", "a", "")}, want{"a", "alice", "opened", false}},
		{"a fork stays a fork",
			[]krtv1.PullRequest{fork(ev("opened", "a", "mallory")), ev("synchronize", "b", "alice")}, want{"b", "alice", "synchronize", true}},
		{"an older event is stale",
			[]krtv1.PullRequest{timed(ev("opened", "a", "alice"), 1), timed(ev("synchronize", "b", "mallory"), 3),
				timed(ev("synchronize", "a", "alice"), 2), timed(ev("closed", "a", "alice"), 2)},
			want{"b", "mallory", "synchronize", false}},
		{"an event of the same second applies",
			[]krtv1.PullRequest{timed(ev("opened", "a", "alice"), 1), timed(ev("synchronize", "b", "bob"), 1)},
			want{"b", "bob", "synchronize", false}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			repo := &krtv1.WorkflowRepository{}
			now := time.Now()
			for _, e := range tc.events {
				now = now.Add(time.Second)
				upsertPullRequest(repo, e, now)
			}
			if len(repo.Status.PullRequests) != 1 {
				t.Fatalf("records %+v, want one", repo.Status.PullRequests)
			}
			pr := repo.Status.PullRequests[0]
			got := want{pr.HeadSHA, pr.PushedBy, pr.Action, pr.Fork}
			if got != tc.want {
				t.Errorf("record %+v, want %+v", got, tc.want)
			}
		})
	}
}

func TestUnchangedPullRequestIsNotRewritten(t *testing.T) {
	repo := &krtv1.WorkflowRepository{}
	first := time.Now()
	upsertPullRequest(repo, krtv1.PullRequest{Number: 1, Action: "opened", HeadSHA: "a", PushedBy: "alice"}, first)
	if upsertPullRequest(repo, krtv1.PullRequest{Number: 1, Action: "opened", HeadSHA: "a", PushedBy: "alice"}, first.Add(time.Hour)) {
		t.Error("the same event again reported a change")
	}
	if got := repo.Status.PullRequests[0].UpdatedAt.Time; !got.Equal(metav1.NewTime(first).Time) {
		t.Errorf("updatedAt moved to %s: a workflow created since would run an old event", got)
	}
}

func TestDeliveriesAreBounded(t *testing.T) {
	repo := &krtv1.WorkflowRepository{}
	start := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	recordDelivery(repo, "old", start)
	for i := range maxDeliveries + 10 {
		recordDelivery(repo, string(rune('a'+i%26))+time.Duration(i).String(), start.Add(deliveryTTL+time.Duration(i)*time.Second))
	}
	if n := len(repo.Status.Deliveries); n != maxDeliveries {
		t.Errorf("%d deliveries kept, want %d", n, maxDeliveries)
	}
	if delivered(repo, "old") {
		t.Error("a delivery past its TTL is still kept")
	}
	last := repo.Status.Deliveries[maxDeliveries-1].ID
	if !delivered(repo, last) {
		t.Error("the newest delivery was dropped")
	}
}
