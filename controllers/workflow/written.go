package workflow

import (
	"context"
	"maps"
	"sync"
	"time"

	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/types"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"krt.dev/krt/controllers/audit"

	krtv1 "krt.dev/krt/api/v1alpha1"
)

// written is what the engine knows of each run beyond its cache: the
// status it last stored, and one it holds back.
//
// A Run that ends right after a status patch wakes the run before the
// cache holds the patch; a pass from that stale read would build on nodes
// the run has already moved past, and its patch, conditional on the
// version read, conflicts (a quarter to a half of the engine's WorkflowRun
// writes on a chain of fast steps). The API server's answer to the patch
// is the version that followed, so a pass that finds the cache at the
// version its last patch was made from starts from the answer instead.
//
// And every status patch makes the API server decode, patch, validate and
// encode the whole run, definition included: on a chain of short steps
// that is most of what a node costs it. So while a run is Running and a
// pass changes only its nodes, the patch waits until statusInterval has
// passed since the last one. The Runs are created at once all the same;
// their names are fixed, so a restart (or a pass that lost what was held)
// finds them when it creates them again and takes up their state, as it
// does for a Run made just before a lost patch.
type written struct {
	mu   sync.Mutex
	runs map[types.NamespacedName]*held
}

// held is one run's: the version its last patch was made from, the
// answer (what is stored), when that was, and the run as the engine left
// it, which is newer while a patch is held back, with the Runs seen
// ending since the patch (for their spans).
type held struct {
	from   string
	stored *krtv1.WorkflowRun
	at     time.Time
	wr     *krtv1.WorkflowRun
	ended  map[string]runTimes
}

// What is remembered is never changed: start hands out a copy to change,
// and stored and hold take what a pass is done with.

// start is what a pass starts from: what is stored, the run as the engine
// left it (a copy the pass may change), and the Runs seen ending since
// the last patch; cached when nothing is remembered, or the cache has
// moved past what is (another writer: what was held is lost, and taken
// up again from the Runs).
func (w *written) start(key types.NamespacedName, cached *krtv1.WorkflowRun) (stored, wr *krtv1.WorkflowRun, ended map[string]runTimes, at time.Time) {
	w.mu.Lock()
	defer w.mu.Unlock()
	h, ok := w.runs[key]
	if ok && h.stored.UID == cached.UID && (cached.ResourceVersion == h.stored.ResourceVersion || cached.ResourceVersion == h.from) {
		return h.stored, h.wr.DeepCopy(), maps.Clone(h.ended), h.at
	}
	delete(w.runs, key)
	return cached, cached.DeepCopy(), map[string]runTimes{}, time.Time{}
}

// stored records a patch from version from that the API server answered
// with wr, at at. A run that has ended needs nothing more remembered.
func (w *written) stored(key types.NamespacedName, from string, wr *krtv1.WorkflowRun, at time.Time) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.runs == nil {
		w.runs = map[types.NamespacedName]*held{}
	}
	if wr.Status.Phase != krtv1.WorkflowRunning {
		// Only a running run's patches come quickly one after another
		// or wait; keeping a copy of every queued run would double what
		// the cache holds of them.
		delete(w.runs, key)
		return
	}
	w.runs[key] = &held{from: from, stored: wr, at: at, wr: wr, ended: map[string]runTimes{}}
}

// hold keeps wr, newer than what is stored, for a later patch.
func (w *written) hold(key types.NamespacedName, stored, wr *krtv1.WorkflowRun, ended map[string]runTimes, at time.Time) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.runs == nil {
		w.runs = map[types.NamespacedName]*held{}
	}
	h, ok := w.runs[key]
	if !ok || h.stored != stored {
		h = &held{stored: stored, at: at}
		w.runs[key] = h
	}
	h.wr, h.ended = wr, ended
}

// forget drops what is remembered of a run: its patch failed, or it is
// gone.
func (w *written) forget(key types.NamespacedName) {
	w.mu.Lock()
	defer w.mu.Unlock()
	delete(w.runs, key)
}

// statusInterval is the most a running run's status waits, after its last
// patch, for one that changes only its nodes.
const statusInterval = time.Second

// mayWait reports whether the change from stored to wr may wait: the run
// is Running before and after, and only nodes changed. A phase, a
// condition, a message or an audit entry is written at once.
func mayWait(stored, wr *krtv1.WorkflowRun) bool {
	if stored.Status.Phase != krtv1.WorkflowRunning || wr.Status.Phase != krtv1.WorkflowRunning {
		return false
	}
	a, b := stored.Status, wr.Status
	a.Nodes, b.Nodes = nil, nil
	return equality.Semantic.DeepEqual(a, b)
}

// store patches what a pass changed from what is stored, or holds it back
// (mayWait) until statusInterval after the last patch, asking for a pass
// then.
func (r *Reconciler) store(ctx context.Context, key types.NamespacedName, p *pass, stored *krtv1.WorkflowRun, wrote time.Time, result *ctrl.Result) error {
	wr := p.wr
	if equality.Semantic.DeepEqual(stored.Status, wr.Status) {
		// Every patch makes the API server rework the whole object,
		// definition included: a pass that changed nothing is free.
		return nil
	}
	if due := wrote.Add(statusInterval); p.now.Before(due) && mayWait(stored, wr) {
		r.written.hold(key, stored, wr, p.ended, wrote)
		if after := due.Sub(p.now); result.RequeueAfter == 0 || after < result.RequeueAfter {
			result.RequeueAfter = after
		}
		return nil
	}
	// Only what changed: a merge patch would carry every node.
	patch, err := statusPatch(stored, wr)
	if err == nil {
		err = r.client.Status().Patch(ctx, wr, patch)
	}
	switch {
	case err == nil:
		r.written.stored(key, stored.ResourceVersion, wr, r.now())
		// Reported once stored: a pass that lost its patch is done
		// again, and must not report twice.
		audit.Report(ctx, r.recorder, wr, p.audited)
		r.trace(ctx, stored, wr, p.ended)
		return nil
	case apierrors.IsConflict(err):
		r.written.forget(key)
		*result = ctrl.Result{Requeue: true}
		return nil
	default:
		r.written.forget(key)
		return client.IgnoreNotFound(err)
	}
}
