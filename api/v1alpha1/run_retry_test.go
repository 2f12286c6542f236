package v1alpha1

import (
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestDelayDoublesUpToMax(t *testing.T) {
	p := &RetryPolicy{Backoff: &metav1.Duration{Duration: time.Second}, MaxBackoff: &metav1.Duration{Duration: 5 * time.Second}}
	want := map[int32]time.Duration{2: time.Second, 3: 2 * time.Second, 4: 4 * time.Second, 5: 5 * time.Second, 9: 5 * time.Second}
	for next, d := range want {
		if got := p.Delay(next); got != d {
			t.Errorf("Delay(%d) = %s, want %s", next, got, d)
		}
	}
}

func TestRetryOrFinish(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	three := &RetryPolicy{MaxAttempts: 3, Backoff: &metav1.Duration{Duration: time.Second}}
	cases := []struct {
		name        string
		policy      *RetryPolicy
		attempt     int32
		phase       RunPhase
		started     bool
		cancel      bool
		wantPhase   RunPhase
		wantAttempt int32
		wantWait    time.Duration
	}{
		{name: "no policy finishes", attempt: 1, phase: RunFailed, started: true, wantPhase: RunFailed, wantAttempt: 1},
		{name: "retry with backoff", policy: three, attempt: 1, phase: RunFailed, started: true, wantPhase: RunPending, wantAttempt: 2, wantWait: time.Second},
		{name: "timeouts retry too", policy: three, attempt: 2, phase: RunTimeout, started: true, wantPhase: RunPending, wantAttempt: 3, wantWait: 2 * time.Second},
		{name: "last attempt finishes", policy: three, attempt: 3, phase: RunFailed, started: true, wantPhase: RunFailed, wantAttempt: 3},
		{name: "never started keeps its attempt", policy: nil, attempt: 1, phase: RunFailed, started: false, wantPhase: RunPending, wantAttempt: 1},
		{name: "never started even on the last attempt", policy: three, attempt: 3, phase: RunFailed, started: false, wantPhase: RunPending, wantAttempt: 3},
		{name: "cancelled never retries", policy: three, attempt: 1, phase: RunCancelled, started: true, wantPhase: RunCancelled, wantAttempt: 1},
		{name: "cancel requested never retries", policy: three, attempt: 1, phase: RunFailed, started: true, cancel: true, wantPhase: RunFailed, wantAttempt: 1},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := &Run{Spec: RunSpec{RetryPolicy: tc.policy, CancelRequested: tc.cancel},
				Status: RunStatus{Phase: RunRunning, Attempt: tc.attempt, AssignedPod: "p", AssignedPodUID: "u"}}
			r.RetryOrFinish(tc.phase, "PodGone", "gone", tc.started, now)
			if r.Status.Phase != tc.wantPhase || r.Status.Attempt != tc.wantAttempt {
				t.Fatalf("phase/attempt = %s/%d, want %s/%d", r.Status.Phase, r.Status.Attempt, tc.wantPhase, tc.wantAttempt)
			}
			if tc.wantPhase != RunPending {
				return
			}
			if r.Status.AssignedPod != "" || r.Status.AssignedPodUID != "" {
				t.Error("a retried Run keeps its old pod")
			}
			var wait time.Duration
			if r.Status.NotBefore != nil {
				wait = r.Status.NotBefore.Sub(now)
			}
			if wait != tc.wantWait {
				t.Errorf("backoff = %s, want %s", wait, tc.wantWait)
			}
		})
	}
}

func TestFinishKeepsMessagesWithinTheSchema(t *testing.T) {
	r := &Run{}
	r.Finish(RunFailed, ReasonExitCode, "exit code 1: "+strings.Repeat("é", 5000)+" the end", time.Now())
	if len(r.Status.Message) > MaxMessage || !strings.HasSuffix(r.Status.Message, "the end") || !utf8.ValidString(r.Status.Message) {
		t.Fatalf("message of %d bytes, valid %v, ending %q", len(r.Status.Message), utf8.ValidString(r.Status.Message), r.Status.Message[len(r.Status.Message)-10:])
	}
}
