package source

import (
	"context"
	"slices"
	"sort"
	"time"

	apiequality "k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	krtv1 "krt.dev/krt/api/v1alpha1"
)

// maxPullRequests bounds the PRs kept in status; the oldest closed go
// first.
const maxPullRequests = 200

// reconcilePullRequests discovers PR heads without webhooks, for the
// generic provider: refs/pull/*/head and refs/merge-requests/*/head.
// Such refs say nothing of author or fork, so those PRs are never trusted
// without an approval.
func (r *Reconciler) reconcilePullRequests(ctx context.Context, repo *krtv1.WorkflowRepository) error {
	pol := repo.Spec.PullRequests
	if pol == nil || !pol.Enabled || pol.Provider != "generic" || repo.Spec.URL == "" {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, timeout(repo))
	defer cancel()
	auth, err := r.auth(ctx, repo)
	if err != nil {
		return err
	}
	heads, err := r.git.PullRequestHeads(ctx, repo.Spec.URL, auth)
	if err != nil {
		return err
	}
	base := "main"
	if repo.Spec.Ref != nil && repo.Spec.Ref.Branch != "" {
		base = repo.Spec.Ref.Branch
	}
	open := map[int64]bool{}
	for _, h := range heads {
		open[h.Number] = true
		upsertPullRequest(repo, krtv1.PullRequest{Number: h.Number, HeadSHA: h.SHA, Base: base}, r.now())
	}
	for _, pr := range repo.Status.PullRequests {
		if !open[pr.Number] && pr.Action != "closed" {
			pr.Action = "closed"
			upsertPullRequest(repo, pr, r.now())
		}
	}
	return nil
}

// upsertPullRequest applies one PR event to the record and reports
// whether the record changed. pr.Action is empty for a head found by
// discovery (generic refs), else opened, synchronize, reopened or closed.
//
// PushedBy is whom trust follows: the user whose event made HeadSHA the
// head. An event for the head already recorded keeps it, whoever sent
// the event (a reopen by a maintainer vouches for nothing new); a new
// head takes the event's sender, or none when a close or discovery
// brings it, since neither says who pushed it. An event the provider
// dates before the record's (EventTime) is stale and changes nothing.
func upsertPullRequest(repo *krtv1.WorkflowRepository, pr krtv1.PullRequest, now time.Time) bool {
	stamp := metav1.NewTime(now)
	prs := repo.Status.PullRequests
	i := slices.IndexFunc(prs, func(p krtv1.PullRequest) bool { return p.Number == pr.Number })
	if i < 0 {
		if pr.Action == "" {
			pr.Action = "opened"
		}
		if pr.Action == "closed" {
			pr.PushedBy = ""
		}
		pr.UpdatedAt = stamp
		repo.Status.PullRequests = append(prs, pr)
		trimPullRequests(repo)
		return true
	}
	old := prs[i]
	if !pr.EventTime.IsZero() && pr.EventTime.Before(&old.EventTime) {
		return false
	}
	next := mergePullRequest(old, pr)
	next.UpdatedAt = old.UpdatedAt
	if apiequality.Semantic.DeepEqual(next, old) {
		return false
	}
	next.UpdatedAt = stamp
	prs[i] = next
	return true
}

// mergePullRequest is the record after an event; see upsertPullRequest.
func mergePullRequest(old, pr krtv1.PullRequest) krtv1.PullRequest {
	sameHead := old.HeadSHA == pr.HeadSHA
	if pr.Action == "" { // discovery knows the head and nothing else
		switch {
		case sameHead && old.Action != "closed":
			return old
		case old.Action == "closed":
			pr.Action = "reopened"
		default:
			pr.Action = "synchronize"
		}
		pr.Draft = old.Draft
	}
	switch {
	case sameHead:
		pr.PushedBy = old.PushedBy
	case pr.Action == "closed":
		pr.PushedBy = ""
	}
	if pr.Author == "" {
		pr.Author = old.Author
	}
	if pr.HeadRef == "" {
		pr.HeadRef = old.HeadRef
	}
	if pr.Base == "" {
		pr.Base = old.Base
	}
	pr.Fork = pr.Fork || old.Fork
	if pr.EventTime.IsZero() {
		pr.EventTime = old.EventTime
	}
	return pr
}

// trimPullRequests drops the oldest closed PRs, then the oldest.
func trimPullRequests(repo *krtv1.WorkflowRepository) {
	prs := repo.Status.PullRequests
	if len(prs) <= maxPullRequests {
		return
	}
	sort.SliceStable(prs, func(i, j int) bool {
		ci, cj := prs[i].Action == "closed", prs[j].Action == "closed"
		if ci != cj {
			return ci
		}
		return prs[i].UpdatedAt.Before(&prs[j].UpdatedAt)
	})
	repo.Status.PullRequests = prs[len(prs)-maxPullRequests:]
}
