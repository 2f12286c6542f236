package runtimed

import (
	"context"
	"fmt"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	krtv1 "krt.dev/krt/api/v1alpha1"
)

// sync brings one Run and this pod's execution of it into line: claim a
// newly assigned Run, pass on a cancel request, adopt an execution after a
// restart, or drop one that is no longer ours.
func (a *Agent) sync(ctx context.Context, name string) error {
	run := &krtv1.Run{}
	err := a.cache.Get(ctx, types.NamespacedName{Namespace: a.opts.Pod.Namespace, Name: name}, run)
	if apierrors.IsNotFound(err) {
		// Deleted, or assigned to another pod: our execution is fenced.
		a.fence(name, nil, "the Run is no longer assigned to this pod")
		return nil
	}
	if err != nil {
		return err
	}
	if !a.ours(run) {
		a.fence(name, nil, "the Run is assigned to another pod of the same name")
		return nil
	}
	ex := a.fence(name, run, "the Run moved on to another attempt")
	switch {
	case ex != nil:
		if run.Spec.CancelRequested {
			ex.requestCancel(a, "cancel requested")
		}
	case run.Status.Phase == krtv1.RunScheduled:
		return a.claim(ctx, run)
	case run.Status.Phase == krtv1.RunRunning:
		a.adopt(ctx, run)
	}
	return nil
}

func (a *Agent) ours(run *krtv1.Run) bool {
	return run.Status.AssignedPod == a.opts.Pod.Name && run.Status.AssignedPodUID == a.opts.PodUID
}

// fence stops a local execution that no longer matches the Run (nil when
// the Run is gone) and returns the one that still does.
func (a *Agent) fence(name string, run *krtv1.Run, why string) *execution {
	a.mu.Lock()
	ex := a.active[name]
	if ex != nil && run != nil && ex.uid == run.UID && ex.attempt == run.Status.Attempt {
		a.mu.Unlock()
		return ex
	}
	delete(a.active, name)
	a.mu.Unlock()
	if ex != nil {
		a.opts.Log.Info("fenced: cancelling our execution", "run", name, "attempt", ex.attempt, "why", why)
		ex.fenced(a, why)
	}
	return nil
}

// claim moves a Scheduled Run to Running, then executes it. The write is
// conditional on the resourceVersion, so two pods can never both claim one
// attempt.
func (a *Agent) claim(ctx context.Context, run *krtv1.Run) error {
	if run.Spec.CancelRequested {
		_, err := a.writeStatus(ctx, run, a.stillScheduled(run), func(r *krtv1.Run) {
			r.Finish(krtv1.RunCancelled, krtv1.ReasonCancelled, "cancelled before it started", time.Now())
		})
		return ignoreFenced(err)
	}
	// Open the log first: once the Run shows Running, `krt logs -f` finds it.
	a.logs.Open(run.UID)
	claimed, err := a.writeStatus(ctx, run, a.stillScheduled(run), func(r *krtv1.Run) {
		now := metav1.Now()
		r.Status.Phase = krtv1.RunRunning
		r.Status.StartTime = &now
		r.Status.ObservedGeneration = r.Generation
	})
	if err != nil || claimed.Status.Phase != krtv1.RunRunning {
		// Fenced, failed, or cancelled while we claimed it.
		a.logs.Finish(run.UID)
		return ignoreFenced(err)
	}
	a.start(ctx, claimed, false)
	return nil
}

// adopt picks up a Run this pod was already running before runtimed
// restarted: the Runtime Server still has the execution.
func (a *Agent) adopt(ctx context.Context, run *krtv1.Run) {
	a.opts.Log.Info("adopting a running execution", "run", run.Name, "attempt", run.Status.Attempt)
	a.start(ctx, run, true)
}

// stillScheduled is the fencing check for a claim: the same attempt, still
// waiting for this pod. A cancel request that arrived meanwhile is honoured
// by finishing the Run as Cancelled instead.
func (a *Agent) stillScheduled(orig *krtv1.Run) func(*krtv1.Run) bool {
	return func(r *krtv1.Run) bool {
		return r.UID == orig.UID && a.ours(r) && r.Status.Attempt == orig.Status.Attempt &&
			r.Status.Phase == krtv1.RunScheduled
	}
}

// stillRunning is the fencing check for the final write.
func (a *Agent) stillRunning(orig *krtv1.Run) func(*krtv1.Run) bool {
	return func(r *krtv1.Run) bool {
		return r.UID == orig.UID && a.ours(r) && r.Status.Attempt == orig.Status.Attempt &&
			r.Status.Phase == krtv1.RunRunning
	}
}

// errFenced means the Run moved on without us: another attempt, another
// pod, or deleted. Our write must not land.
// maxConflicts bounds the inline retries of one status write; past it the
// caller retries with backoff.
const maxConflicts = 8

var errFenced = fmt.Errorf("fenced: the Run is no longer this pod's")

func ignoreFenced(err error) error {
	if err == errFenced {
		return nil
	}
	return err
}

// writeStatus applies mutate and writes the status with the Run's
// resourceVersion. On a conflict (a cancel request, say) it reads the Run
// again and retries while check still holds; once it does not, the write
// is fenced.
func (a *Agent) writeStatus(ctx context.Context, run *krtv1.Run, check func(*krtv1.Run) bool, mutate func(*krtv1.Run)) (*krtv1.Run, error) {
	r := run.DeepCopy()
	for try := 0; ; try++ {
		mutate(r)
		err := a.client.Status().Update(ctx, r)
		if err == nil {
			return r, nil
		}
		if !apierrors.IsConflict(err) || try == maxConflicts {
			return nil, err
		}
		fresh := &krtv1.Run{}
		if err := a.client.Get(ctx, types.NamespacedName{Namespace: run.Namespace, Name: run.Name}, fresh); err != nil {
			if apierrors.IsNotFound(err) {
				return nil, errFenced
			}
			return nil, err
		}
		if !check(fresh) {
			return nil, errFenced
		}
		if fresh.Status.Phase == krtv1.RunScheduled && fresh.Spec.CancelRequested {
			// Cancelled between assignment and claim: end it, don't start it.
			mutate = func(r *krtv1.Run) {
				r.Finish(krtv1.RunCancelled, krtv1.ReasonCancelled, "cancelled before it started", time.Now())
			}
		}
		r = fresh
	}
}
