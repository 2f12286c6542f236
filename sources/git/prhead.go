package git

import (
	"context"
	"fmt"
	"strings"
)

// Refs is one ls-remote of a repository. Listing proves that the caller's
// credentials reach the repository, which is what allows it to read
// commits out of the cache that other repositories naming the same URL
// share; it also says which ref publishes a pull request's head.
type Refs struct {
	refs remoteRefs
}

// ListRefs lists the repository's refs, fetching nothing.
func (c *Cache) ListRefs(ctx context.Context, rawURL string, auth *Auth) (Refs, error) {
	refs, err := lsRemote(ctx, rawURL, auth)
	if err != nil {
		return Refs{}, err
	}
	return Refs{refs: refs}, nil
}

// PullRequestHead says what to fetch to get a pull request's head commit.
// The commit is taken as the PR event names it (a full hash), whatever the
// refs point at now: a run is for the head it was triggered by. The ref
// to fetch it by is, in order:
//   - refs/pull/<n>/head (GitHub, Gitea) or refs/merge-requests/<n>/head
//     (GitLab), when the server publishes one;
//   - refs/heads/<branch>, for a PR from a branch of the same repository;
//   - none, which fetches every branch and tag.
//
// Fetch then skips the network when the cache holds the commit already,
// and fails when the ref no longer leads to it (a force push).
func (r Refs) PullRequestHead(number int64, sha, branch string) (Resolved, error) {
	sha = strings.ToLower(sha)
	if len(sha) != 40 || !hexHash.MatchString(sha) {
		return Resolved{}, fmt.Errorf("pull request #%d: head %q is not a full SHA-1 commit hash", number, sha)
	}
	for _, ref := range []string{
		fmt.Sprintf("refs/pull/%d/head", number),
		fmt.Sprintf("refs/merge-requests/%d/head", number),
	} {
		if _, ok := r.refs[ref]; ok {
			return Resolved{Commit: sha, Revision: ref + "@sha1:" + sha, Ref: ref}, nil
		}
	}
	if branch != "" {
		if _, ok := r.refs["refs/heads/"+branch]; ok {
			return Resolved{Commit: sha, Revision: branch + "@sha1:" + sha, Ref: "refs/heads/" + branch}, nil
		}
	}
	return Resolved{Commit: sha, Revision: "sha1:" + sha}, nil
}
