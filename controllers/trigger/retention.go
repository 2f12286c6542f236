package trigger

import (
	"cmp"
	"context"
	"slices"
	"time"

	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	krtv1 "krt.dev/krt/api/v1alpha1"
)

// expired picks the workflow's finished runs that its runRetention lets
// go: past the history limits (Succeeded; Failed or Cancelled), newest
// kept first, or past the TTL after they finished. It also returns when
// the next kept run's TTL runs out, zero if none does.
func expired(wf *krtv1.Workflow, list []krtv1.WorkflowRun, now time.Time) ([]*krtv1.WorkflowRun, time.Time) {
	keepOK, keepFailed, ttl := retention(wf.Spec.RunRetention)
	var finished []*krtv1.WorkflowRun
	for i := range list {
		wr := &list[i]
		if wr.Spec.Workflow == wf.Name && wr.Status.Phase.Terminal() && wr.DeletionTimestamp.IsZero() {
			finished = append(finished, wr)
		}
	}
	slices.SortFunc(finished, func(a, b *krtv1.WorkflowRun) int { return newestFirst(a, b) })
	var out []*krtv1.WorkflowRun
	var next time.Time
	ok, failed := 0, 0
	for _, wr := range finished {
		kept := &failed
		limit := keepFailed
		if wr.Status.Phase == krtv1.WorkflowSucceeded {
			kept, limit = &ok, keepOK
		}
		if *kept >= limit {
			out = append(out, wr)
			continue
		}
		if ttl != nil {
			end := finishedAt(wr).Add(*ttl)
			if !now.Before(end) {
				out = append(out, wr)
				continue
			}
			if next.IsZero() || end.Before(next) {
				next = end
			}
		}
		*kept++
	}
	return out, next
}

// retention reads runRetention, with its defaults.
func retention(r *krtv1.RunRetention) (keepOK, keepFailed int, ttl *time.Duration) {
	keepOK, keepFailed = krtv1.DefaultRunHistory, krtv1.DefaultRunHistory
	if r == nil {
		return keepOK, keepFailed, nil
	}
	if r.SuccessfulHistoryLimit != nil {
		keepOK = int(*r.SuccessfulHistoryLimit)
	}
	if r.FailedHistoryLimit != nil {
		keepFailed = int(*r.FailedHistoryLimit)
	}
	if r.TTLSecondsAfterFinished != nil {
		d := time.Duration(*r.TTLSecondsAfterFinished) * time.Second
		ttl = &d
	}
	return keepOK, keepFailed, ttl
}

// finishedAt is when a run ended; its creation if it has no record of it.
func finishedAt(wr *krtv1.WorkflowRun) time.Time {
	if wr.Status.CompletionTime != nil {
		return wr.Status.CompletionTime.Time
	}
	return wr.CreationTimestamp.Time
}

// newestFirst orders finished runs by when they ended; completion times
// have whole seconds, so ties go to the newer run, then the name.
func newestFirst(a, b *krtv1.WorkflowRun) int {
	if c := finishedAt(b).Compare(finishedAt(a)); c != 0 {
		return c
	}
	if newer(a, b) {
		return -1
	}
	if newer(b, a) {
		return 1
	}
	return cmp.Compare(a.Name, b.Name)
}

// prune deletes the runs retention let go. Each must be in the saved
// record already (see Reconcile), so that its event is not run again; a
// run made again under the same name since it was read is not deleted.
func (r *Reconciler) prune(ctx context.Context, wf *krtv1.Workflow, doomed []*krtv1.WorkflowRun) error {
	for _, wr := range doomed {
		uid := wr.UID
		err := r.client.Delete(ctx, wr, client.Preconditions{UID: &uid}, client.PropagationPolicy("Background"))
		if client.IgnoreNotFound(err) != nil {
			return err
		}
		if err == nil {
			r.recorder.Eventf(wf, corev1.EventTypeNormal, "RunDeleted", "deleted %s (%s) under runRetention", wr.Name, wr.Status.Phase)
		}
	}
	return nil
}

// without is list less the runs retention lets go.
func without(list []krtv1.WorkflowRun, doomed []*krtv1.WorkflowRun) []krtv1.WorkflowRun {
	return slices.DeleteFunc(slices.Clone(list), func(wr krtv1.WorkflowRun) bool {
		return slices.ContainsFunc(doomed, func(d *krtv1.WorkflowRun) bool { return d.UID == wr.UID })
	})
}
