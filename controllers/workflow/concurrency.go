package workflow

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"time"

	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	krtv1 "krt.dev/krt/api/v1alpha1"
)

// indexGroup maps a WorkflowRun to its resolved concurrency group. The
// engine looks runs up by the group itself, not by the label that only
// NewRun sets, so a run made by hand is held all the same.
const indexGroup = "krt.workflowRun.concurrencyGroup"

// ReasonQueued is why a run waits in Pending.
const ReasonQueued = "Queued"

func runGroup(o client.Object) []string {
	if g := o.(*krtv1.WorkflowRun).Spec.ConcurrencyGroup; g != "" {
		return []string{g}
	}
	return nil
}

// admit moves a run to Running unless its concurrency group holds it; it
// reports whether the run is Running. With cancelInProgress the older
// runs of the group are cancelled instead of waited for.
func (p *pass) admit(ctx context.Context) (bool, error) {
	group := p.wr.Spec.ConcurrencyGroup
	if group == "" {
		p.begin()
		return true, nil
	}
	older, err := p.olderInGroup(ctx)
	if err != nil {
		return false, err
	}
	if p.wr.Spec.CancelInProgress {
		for i := range older {
			if err := p.cancelOther(ctx, &older[i]); err != nil {
				return false, err
			}
		}
	} else if len(older) > 0 {
		msg := fmt.Sprintf("waiting for %s in concurrency group %s", older[0].Name, group)
		p.wr.Status.Phase = krtv1.WorkflowPending
		p.wr.Status.Message = krtv1.TruncateMessage(msg)
		markRunning(p.wr, ReasonQueued, msg)
		return false, nil
	}
	p.wr.Status.Message = ""
	p.begin()
	return true, nil
}

// olderInGroup lists the group's runs that have not ended and came before
// this one, oldest first. Creation order, then the name, decides, so two
// runs never both wait for each other.
func (p *pass) olderInGroup(ctx context.Context) ([]krtv1.WorkflowRun, error) {
	list := &krtv1.WorkflowRunList{}
	if err := p.r.client.List(ctx, list, client.InNamespace(p.wr.Namespace),
		client.MatchingFields{indexGroup: p.wr.Spec.ConcurrencyGroup}); err != nil {
		return nil, err
	}
	var out []krtv1.WorkflowRun
	for _, o := range list.Items {
		if o.Name != p.wr.Name && !o.Status.Phase.Terminal() && before(&o, p.wr) {
			out = append(out, o)
		}
	}
	slices.SortFunc(out, func(a, b krtv1.WorkflowRun) int {
		if before(&a, &b) {
			return -1
		}
		return 1
	})
	return out, nil
}

// before orders runs by the API server's creation time, then, within its
// one-second grain, by when their maker stamped them (two pushes to a PR
// in one second must cancel the older head, whatever the names say), and
// last by name.
func before(a, b *krtv1.WorkflowRun) bool {
	if c := a.CreationTimestamp.Compare(b.CreationTimestamp.Time); c != 0 {
		return c < 0
	}
	qa, errA := time.Parse(time.RFC3339Nano, a.Annotations[krtv1.AnnotationQueuedAt])
	qb, errB := time.Parse(time.RFC3339Nano, b.Annotations[krtv1.AnnotationQueuedAt])
	if errA == nil && errB == nil && !qa.Equal(qb) {
		return qa.Before(qb)
	}
	return cmp.Less(a.Name, b.Name)
}

// cancelOther asks an older run of the group to stop; its own reconcile
// then cancels its Runs and ends it.
func (p *pass) cancelOther(ctx context.Context, o *krtv1.WorkflowRun) error {
	if o.Spec.CancelRequested {
		return nil
	}
	base := o.DeepCopy()
	o.Spec.CancelRequested = true
	o.Spec.CancelledBy = p.r.self
	err := p.r.client.Patch(ctx, o, client.MergeFrom(base))
	return client.IgnoreNotFound(err)
}

// waitersOf wakes the runs that may be waiting in a group when one of its
// runs ends or goes away. Runs not yet started are woken too: one may
// have read the group just before this run ended, and be about to hold.
func (r *Reconciler) waitersOf(ctx context.Context, o client.Object) []reconcile.Request {
	wr, ok := o.(*krtv1.WorkflowRun)
	if !ok || wr.Spec.ConcurrencyGroup == "" {
		return nil
	}
	list := &krtv1.WorkflowRunList{}
	if err := r.client.List(ctx, list, client.InNamespace(wr.Namespace),
		client.MatchingFields{indexGroup: wr.Spec.ConcurrencyGroup}); err != nil {
		return nil
	}
	var out []reconcile.Request
	for _, w := range list.Items {
		if w.Name != wr.Name && (w.Status.Phase == "" || w.Status.Phase == krtv1.WorkflowPending) {
			out = append(out, reconcile.Request{NamespacedName: client.ObjectKeyFromObject(&w)})
		}
	}
	return out
}
