package trigger

import (
	"context"
	"slices"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/client-go/util/retry"
	"sigs.k8s.io/controller-runtime/pkg/client"

	krtv1 "krt.dev/krt/api/v1alpha1"
)

// The durable record of handled events. A run's name is a function of its
// event, so "this name was made" means "this event has run". It is kept
// in the API server (a Workflow's status.handledRuns, a repository's for
// PR heads), not inferred from the run being there: a run deleted by a
// user or by retention must not be made again, after a restart too.

// Bounds of the records, the API's MaxItems. A Workflow's must exceed the
// events that can be candidates at once (20 pushes, 200 pull requests, 8
// schedules on a repository), so a live event's name is never dropped.
const (
	maxHandledRuns     = 256
	maxHandledHeadRuns = 512
)

// handledSet is one handled list being added to in a reconcile.
type handledSet struct {
	names   []string // oldest first
	changed bool
}

func newHandled(names []string) *handledSet {
	return &handledSet{names: slices.Clone(names)}
}

func (r *handledSet) has(name string) bool { return slices.Contains(r.names, name) }

// add notes that name's event has run; it reports whether it was new.
func (r *handledSet) add(name string) bool {
	if r.has(name) {
		return false
	}
	r.names = append(r.names, name)
	r.changed = true
	return true
}

// trimmed is the list cut to limit: first the oldest names that live
// does not know (events no longer recorded, which cannot come back),
// then, only if they are not enough, the oldest of all.
func (r *handledSet) trimmed(limit int, live func(string) bool) []string {
	out := slices.Clone(r.names)
	for len(out) > limit {
		i := slices.IndexFunc(out, func(n string) bool { return !live(n) })
		if i < 0 {
			i = 0
		}
		out = slices.Delete(out, i, i+1)
	}
	return out
}

// handledByRepo reports the runs the repository's record of PR heads
// names: a repository moved from head to base definitions does not run
// its PRs' events again.
func handledByRepo(repo *krtv1.WorkflowRepository) func(string) bool {
	return func(name string) bool {
		return repo != nil && slices.Contains(repo.Status.HandledRuns, name)
	}
}

// candidateNames is a liveness test for a Workflow's record: the names of
// the events recorded now.
func candidateNames(cands []candidate) func(string) bool {
	names := make(map[string]bool, len(cands))
	for _, c := range cands {
		names[c.name] = true
	}
	return func(n string) bool { return names[n] }
}

// saveRecord writes a Workflow's record before anything else of its
// status, and only over the status it was read with: the cache may be
// behind the last write, and a record built on it would drop names. A
// conflict is retried with the reconcile; the runs made meanwhile are
// there to be recorded again.
func (r *Reconciler) saveRecord(ctx context.Context, wf *krtv1.Workflow, rec *handledSet, live func(string) bool) error {
	base := wf.DeepCopy()
	wf.Status.HandledRuns = rec.trimmed(maxHandledRuns, live)
	err := r.client.Status().Patch(ctx, wf, client.MergeFromWithOptions(base, client.MergeFromWithOptimisticLock{}))
	if err != nil {
		// Nor may the final status patch, which takes no lock, write it.
		wf.Status.HandledRuns = base.Status.HandledRuns
	}
	return err
}

// saveRecord writes a repository's record of PR head runs. The source
// controller and the webhook receiver write its status too, so a conflict
// is common: it is merged with the latest from the API server, not lost.
func (h *heads) saveRecord(ctx context.Context, repo *krtv1.WorkflowRepository, rec *handledSet) error {
	cur := repo
	return retry.RetryOnConflict(retry.DefaultRetry, func() error {
		base := cur.DeepCopy()
		merged := newHandled(cur.Status.HandledRuns)
		for _, n := range rec.names {
			merged.add(n)
		}
		next := cur.DeepCopy()
		next.Status.HandledRuns = merged.trimmed(maxHandledHeadRuns, livePRs(cur))
		err := h.client.Status().Patch(ctx, next, client.MergeFromWithOptions(base, client.MergeFromWithOptimisticLock{}))
		if apierrors.IsConflict(err) {
			cur = &krtv1.WorkflowRepository{}
			if gerr := h.apiReader.Get(ctx, client.ObjectKeyFromObject(repo), cur); gerr != nil {
				return gerr
			}
		}
		return err
	})
}

// livePRs is a liveness test for a repository's record: the runs of the
// PR events recorded now.
func livePRs(repo *krtv1.WorkflowRepository) func(string) bool {
	suffixes := make([]string, 0, len(repo.Status.PullRequests))
	for i := range repo.Status.PullRequests {
		suffixes = append(suffixes, "-"+prSuffix(&repo.Status.PullRequests[i]))
	}
	return func(n string) bool {
		return slices.ContainsFunc(suffixes, func(s string) bool { return strings.HasSuffix(n, s) })
	}
}
