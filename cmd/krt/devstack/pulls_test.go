package devstack

import (
	"net/http"
	"strings"
	"testing"

	"krt.dev/krt/sources/gitserver"
	"krt.dev/krt/sources/webhook"
)

// The payload a push to a PR head sends must read, through the receiver's
// own decoder, as the pull request a user pushed: not a fork, by the dev
// author, against main.
func TestPullRequestWebhook(t *testing.T) {
	a, b := strings.Repeat("a", 40), strings.Repeat("b", 40)
	g := &gitService{url: "http://127.0.0.1:1/workflows.git"}
	for _, tc := range []struct {
		name, ref, before, after string
		kind, action, head       string
		number                   int64
	}{
		{name: "new PR head", ref: "refs/pull/7/head", after: a, kind: "pull_request", action: "opened", head: a, number: 7},
		{name: "moved PR head", ref: "refs/pull/7/head", before: a, after: b, kind: "pull_request", action: "synchronize", head: b, number: 7},
		{name: "deleted PR head", ref: "refs/pull/7/head", before: b, kind: "pull_request", action: "closed", head: b, number: 7},
		{name: "branch", ref: "refs/heads/main", before: a, after: b, kind: "push"},
		{name: "not a PR head", ref: "refs/pull/x/head", after: a, kind: "push"},
		{name: "PR merge ref", ref: "refs/pull/7/merge", after: a, kind: "push"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			kind, body, err := g.payload(gitserver.PushEvent{Repo: gitRepo, Ref: tc.ref, Before: tc.before, After: tc.after})
			if err != nil || kind != tc.kind {
				t.Fatalf("payload = %q, %v; want %q", kind, err, tc.kind)
			}
			ev, err := webhook.Decode(webhook.GitHub, http.Header{"X-Github-Event": {kind}}, body)
			if err != nil {
				t.Fatal(err)
			}
			if tc.kind != "pull_request" {
				return
			}
			pr := ev.PullRequest
			if pr == nil {
				t.Fatalf("decoded %+v, want a pull request", ev)
			}
			if pr.Number != tc.number || pr.Action != tc.action || pr.HeadSHA != tc.head || pr.Base != "main" || pr.Fork || pr.Author != devAuthor ||
				pr.Sender != devAuthor {
				t.Errorf("decoded %+v", *pr)
			}
		})
	}
}
