package devstack

import (
	"strconv"
	"strings"
	"time"

	"krt.dev/krt/sources/gitserver"
)

// The local repository's name as a hosted git would give it, and the
// author of its pull requests: the one person who can push to it.
const (
	devRepoName = "krt-dev/" + gitRepo
	devAuthor   = "krt-dev"
)

// pullNumber reads N from refs/pull/N/head, the ref a PR's head lives at
// on GitHub and Gitea; pushing there is how the local repo opens a PR.
func pullNumber(ref string) (int64, bool) {
	rest, ok := strings.CutPrefix(ref, "refs/pull/")
	if !ok {
		return 0, false
	}
	num, ok := strings.CutSuffix(rest, "/head")
	if !ok {
		return 0, false
	}
	n, err := strconv.ParseInt(num, 10, 64)
	return n, err == nil && n > 0
}

// pullRequestPayload is GitHub's pull_request event for a push to a PR
// head: a new ref opens the PR, a moved one is a new head (synchronize),
// a deleted one closes it. Head and base are the same repository, so it
// is not a fork, its base is main, the branch the stack follows, and the
// dev author pushed it.
func pullRequestPayload(n int64, ev gitserver.PushEvent, repo map[string]string) map[string]any {
	action, sha := "synchronize", ev.After
	switch {
	case ev.Before == "":
		action = "opened"
	case ev.After == "":
		action, sha = "closed", ev.Before
	}
	return map[string]any{
		"action": action,
		"number": n,
		// Whoever pushed: krt trusts a head by its pusher, not by the PR's
		// author.
		"sender": map[string]string{"login": devAuthor},
		"pull_request": map[string]any{
			"user": map[string]string{"login": devAuthor},
			// As GitHub's, each event's body differs by its time, so that
			// the receiver, which refuses a body it has seen, takes them all.
			"updated_at": time.Now().UTC().Format(time.RFC3339Nano),
			"head":       map[string]any{"sha": sha, "ref": "pr-" + strconv.FormatInt(n, 10), "repo": repo},
			"base":       map[string]any{"ref": "main", "repo": repo},
		},
	}
}
