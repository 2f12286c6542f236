package source

import (
	"context"
	"sort"
	"time"

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

// upsertPullRequest records what is new about a PR: opened, or a new head
// (synchronize), or an explicit action from a webhook.
func upsertPullRequest(repo *krtv1.WorkflowRepository, pr krtv1.PullRequest, now time.Time) {
	stamp := metav1.NewTime(now)
	prs := repo.Status.PullRequests
	for i := range prs {
		if prs[i].Number != pr.Number {
			continue
		}
		old := prs[i]
		switch {
		case pr.Action == "" && old.HeadSHA == pr.HeadSHA && old.Action != "closed":
			return // nothing new
		case pr.Action == "" && old.Action == "closed":
			pr.Action = "reopened"
		case pr.Action == "":
			pr.Action = "synchronize"
		}
		if pr.Author == "" {
			pr.Author, pr.Fork, pr.HeadRef = old.Author, old.Fork, old.HeadRef
		}
		pr.UpdatedAt = stamp
		prs[i] = pr
		return
	}
	if pr.Action == "" {
		pr.Action = "opened"
	}
	pr.UpdatedAt = stamp
	repo.Status.PullRequests = append(prs, pr)
	trimPullRequests(repo)
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
