package runtimed

import (
	"context"
	"errors"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

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
	if run.Spec.Runtime != a.opts.Runtime {
		// Only a broken or hostile scheduler puts a Run here: this pod
		// holds another Runtime's Secrets and isolation. Leave it
		// unclaimed; the reaper's claim timeout gives it back.
		a.fence(name, nil, "the Run is for another Runtime")
		a.runLog(run).Info("refusing a Run of another Runtime",
			"runtime", run.Spec.Runtime, "this pod's runtime", a.opts.Runtime)
		return nil
	}
	ex := a.fence(name, run, "the Run moved on: another attempt, or ended elsewhere")
	switch {
	case ex != nil:
		if run.Spec.CancelRequested {
			ex.requestCancel(a, "cancel requested")
		}
	case run.Status.Phase == krtv1.RunScheduled && !a.finished.has(executionID(run)):
		// A late event may show a Run that ended here before its claim
		// as still Scheduled: it must not run again.
		return a.claim(ctx, run)
	case run.Status.Phase == krtv1.RunRunning && !a.finished.has(executionID(run)):
		// Ours and running, but not here: runtimed restarted.
		a.runLog(run).Info("adopting a running execution")
		a.onServer.take(executionID(run))
		a.start(ctx, run, true, false)
	}
	return nil
}

func (a *Agent) ours(run *krtv1.Run) bool {
	return run.Status.AssignedPod == a.opts.Pod.Name && run.Status.AssignedPodUID == a.opts.PodUID
}

// fence stops a local execution that no longer matches the Run (nil when
// the Run is gone) and returns the one that still does: the same Run, the
// same attempt, still Scheduled or Running.
func (a *Agent) fence(name string, run *krtv1.Run, why string) *execution {
	a.mu.Lock()
	ex := a.active[name]
	if ex != nil && run != nil && ex.uid == run.UID && ex.attempt == run.Status.Attempt && run.Status.Phase.HoldsCapacity() {
		a.mu.Unlock()
		return ex
	}
	delete(a.active, name)
	a.mu.Unlock()
	if ex != nil {
		ex.fenced(a, why)
	}
	return nil
}

// stillHeld is the fencing check for the final write: the same attempt,
// on this pod, Scheduled (a Run that ended before its claim) or Running.
func (a *Agent) stillHeld(orig *krtv1.Run) func(*krtv1.Run) bool {
	return func(r *krtv1.Run) bool {
		return r.UID == orig.UID && a.ours(r) && r.Status.Attempt == orig.Status.Attempt &&
			r.Status.Phase.HoldsCapacity()
	}
}

// errFenced means the Run moved on without us: another attempt, another
// pod, or deleted. Our write must not land.
var errFenced = errors.New("fenced: the Run is no longer this pod's")

func ignoreFenced(err error) error {
	if errors.Is(err, errFenced) {
		return nil
	}
	return err
}

// maxConflicts bounds the inline retries of one status write; past it the
// caller retries with backoff.
const maxConflicts = 8

// writeStatus applies mutate and writes the status with the Run's
// resourceVersion. On a conflict (a cancel request, say) it reads the Run
// again and retries while check still holds; once it does not, the write
// is fenced.
func (a *Agent) writeStatus(ctx context.Context, run *krtv1.Run, check func(*krtv1.Run) bool, mutate func(*krtv1.Run)) (*krtv1.Run, error) {
	r := run.DeepCopy()
	for try := 0; ; try++ {
		mutate(r)
		sent := r.StatusOnly()
		err := a.client.Status().Update(ctx, sent, client.FieldOwner(krtv1.RunStatusFieldManager))
		if err == nil {
			return sent, nil
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
		r = fresh
	}
}
