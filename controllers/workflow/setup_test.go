package workflow

import (
	"testing"

	krtv1 "krt.dev/krt/api/v1alpha1"
)

// A run wakes for what changes its nodes: an end, or a retry; not for
// each step of a Run's way to running.
func TestRunMoved(t *testing.T) {
	run := func(phase krtv1.RunPhase, attempt int32) *krtv1.Run {
		return &krtv1.Run{Status: krtv1.RunStatus{Phase: phase, Attempt: attempt}}
	}
	for _, tc := range []struct {
		name     string
		old, new *krtv1.Run
		want     bool
	}{
		{"scheduled", run(krtv1.RunPending, 0), run(krtv1.RunScheduled, 0), false},
		{"claimed", run(krtv1.RunScheduled, 0), run(krtv1.RunRunning, 1), false},
		{"succeeded", run(krtv1.RunRunning, 1), run(krtv1.RunSucceeded, 1), true},
		{"failed before running", run(krtv1.RunPending, 0), run(krtv1.RunFailed, 0), true},
		{"retried", run(krtv1.RunRunning, 1), run(krtv1.RunPending, 2), true},
		{"retry claimed", run(krtv1.RunScheduled, 2), run(krtv1.RunRunning, 2), false},
		{"outputs rewritten after the end", run(krtv1.RunSucceeded, 1), run(krtv1.RunSucceeded, 1), false},
	} {
		if got := runMoved(tc.old, tc.new); got != tc.want {
			t.Errorf("%s: runMoved = %v, want %v", tc.name, got, tc.want)
		}
	}
}
