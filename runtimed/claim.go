package runtimed

import (
	"context"
	"errors"
	"sync"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	krtv1 "krt.dev/krt/api/v1alpha1"
)

// claim takes a Scheduled Run. A shared pool's pod starts it at once and
// claims it (the write to Running) only if it outlasts ClaimAfter: a
// short Run goes from Scheduled to its result in one write, three writes
// in all where a claim first costs four. Fencing is the same either way:
// every write is conditional on the resourceVersion and checks that the
// Run is still this pod's at the same attempt, so a reset Run refuses
// both the late claim and the result, and the execution is cancelled.
//
// An ephemeral pod claims first: it marks its Lease spent, and then the
// claim, before its one Run starts. So does a Run cancelled before it
// started, which ends without starting.
func (a *Agent) claim(ctx context.Context, run *krtv1.Run) error {
	if ok, err := a.takeOnce(ctx, run); !ok || err != nil {
		return err
	}
	attach := a.onServer.take(executionID(run))
	if attach || (a.opts.ClaimAfter > 0 && a.opts.Isolation != string(krtv1.IsolationEphemeral) && !run.Spec.CancelRequested) {
		a.start(ctx, run, attach, true)
		return nil
	}
	// Open the log first: once the Run shows Running, `krt logs -f` finds it.
	a.logs.Open(run.UID)
	claimed, err := a.writeStatus(ctx, run, a.stillScheduled(run), func(r *krtv1.Run) {
		if r.Spec.CancelRequested {
			r.Finish(krtv1.RunCancelled, krtv1.ReasonCancelled, "cancelled before it started", time.Now())
			return
		}
		markRunning(r, metav1.Now())
	})
	if err != nil || claimed.Status.Phase != krtv1.RunRunning {
		a.logs.Finish(run.UID)
		return ignoreFenced(err)
	}
	a.start(ctx, claimed, false, false)
	return nil
}

func markRunning(r *krtv1.Run, at metav1.Time) {
	r.Status.Phase = krtv1.RunRunning
	r.Status.StartTime = &at
	r.Status.ObservedGeneration = r.Generation
}

// stillScheduled is the fencing check for a claim: the same attempt, still
// waiting for this pod.
func (a *Agent) stillScheduled(orig *krtv1.Run) func(*krtv1.Run) bool {
	return func(r *krtv1.Run) bool {
		return r.UID == orig.UID && a.ours(r) && r.Status.Attempt == orig.Status.Attempt &&
			r.Status.Phase == krtv1.RunScheduled
	}
}

// lateClaim is the claim of a Run that outlasted ClaimAfter while it ran
// unclaimed. A Run that moved on meanwhile fences the execution; an
// error leaves it unclaimed and tries again after ClaimAfter, well within
// the reaper's claim timeout.
func (a *Agent) lateClaim(ctx context.Context, ex *execution) {
	ex.claim.Lock()
	defer ex.claim.Unlock()
	if ex.claim.settled || !ex.claim.pending || ex.wasFenced() {
		return
	}
	cur := ex.claim.run
	claimed, err := a.writeStatus(ctx, cur, a.stillScheduled(cur), func(r *krtv1.Run) { markRunning(r, ex.claim.began) })
	switch {
	case errors.Is(err, errFenced):
		go ex.fenced(a, "the Run moved on before its claim")
	case err != nil && ctx.Err() == nil:
		ex.log.Error(err, "claiming a Run that outlasted --claim-after; trying again")
		ex.claim.timer.Reset(a.opts.ClaimAfter)
	case err != nil:
		// The execution ended or was fenced: nothing to claim.
	default:
		ex.claim.run, ex.claim.pending = claimed, false
	}
}

// claimState is an execution's Run as this pod last wrote it, and its
// late claim. The mutex is held across the claim's write, so that the
// result is written only after a claim in flight has landed or failed.
type claimState struct {
	sync.Mutex
	run *krtv1.Run
	// began is when the execution started: the Run's startTime.
	began metav1.Time
	// pending is set while the Run executes unclaimed, with timer armed.
	pending bool
	timer   *time.Timer
	// settled is set once the result is about to be written.
	settled bool
}

// settle ends the chance of a late claim and returns the Run to write the
// result over.
func (ex *execution) settle() *krtv1.Run {
	ex.claim.Lock()
	defer ex.claim.Unlock()
	ex.claim.settled = true
	if ex.claim.timer != nil {
		ex.claim.timer.Stop()
	}
	return ex.claim.run
}

// idSet is a set of execution ids: those the Runtime Server held at
// runtimed's start for Runs still this pod's. Their sync attaches to them
// rather than start them again.
type idSet struct {
	mu  sync.Mutex
	ids map[string]struct{}
}

func (s *idSet) add(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ids == nil {
		s.ids = map[string]struct{}{}
	}
	s.ids[id] = struct{}{}
}

func (s *idSet) take(id string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, ok := s.ids[id]
	delete(s.ids, id)
	return ok
}
