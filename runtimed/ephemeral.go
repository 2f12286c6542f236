package runtimed

import (
	"context"
	"fmt"

	krtv1 "krt.dev/krt/api/v1alpha1"
)

// takeOnce lets the pod of an ephemeral Runtime claim one Run in its life.
// It marks the Lease spent before the claim, so that by the time the Run
// shows Running the scheduler already sees the pod as used, and the
// Runtime controller replaces the pod once the Run ends. A second Run
// (only a stale scheduler would assign one) is left unclaimed, and the
// reaper's claim timeout gives it back.
func (a *Agent) takeOnce(ctx context.Context, run *krtv1.Run) (bool, error) {
	if a.opts.Isolation != string(krtv1.IsolationEphemeral) {
		return true, nil
	}
	id := executionID(run)
	a.mu.Lock()
	first := a.taken == ""
	if first && a.renewer.WasSpent() {
		a.taken = "an earlier Run, before runtimed restarted"
	}
	if a.taken == "" {
		a.taken = id
	}
	mine := a.taken == id
	a.mu.Unlock()
	if !mine {
		a.runLog(run).Info("refusing a second Run on an ephemeral pod", "taken by", a.taken)
		return false, nil
	}
	if err := a.renewer.MarkSpent(ctx); err != nil {
		return false, fmt.Errorf("marking the Lease spent before the pod's one Run: %w", err)
	}
	return true, nil
}
