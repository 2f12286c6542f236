package v1alpha1

import (
	"fmt"
	"time"

	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Retry defaults, for a policy that gives none.
const (
	DefaultBackoff    = 10 * time.Second
	DefaultMaxBackoff = 5 * time.Minute
)

// ReasonRetrying is the Reconciling condition's reason while a Run waits for
// its next attempt.
const ReasonRetrying = "Retrying"

// Attempts is the number of attempts the policy allows, at least 1.
func (p *RetryPolicy) Attempts() int32 {
	if p == nil || p.MaxAttempts < 1 {
		return 1
	}
	return p.MaxAttempts
}

// Delay is the wait before attempt next: the backoff doubles with each
// attempt after the second, up to maxBackoff.
func (p *RetryPolicy) Delay(next int32) time.Duration {
	base, ceiling := DefaultBackoff, DefaultMaxBackoff
	if p != nil && p.Backoff != nil {
		base = p.Backoff.Duration
	}
	if p != nil && p.MaxBackoff != nil {
		ceiling = p.MaxBackoff.Duration
	}
	d := base
	for i := int32(2); i < next && d < ceiling; i++ {
		d *= 2
	}
	return min(d, ceiling)
}

// Retryable reports whether an attempt that ended this way may be retried:
// failures and timeouts may, a cancel never.
func (p RunPhase) Retryable() bool {
	return p == RunFailed || p == RunTimeout
}

// RetryOrFinish records how the current attempt ended, in memory. If the
// policy allows another attempt, the Run goes back to Pending for the
// scheduler, after its backoff; otherwise it finishes with phase. An attempt
// that provably never started (started is false) is retried at once and
// does not use up an attempt. runtimed and the reaper both end attempts
// through here, so they cannot disagree on retries.
func (r *Run) RetryOrFinish(phase RunPhase, reason, message string, started bool, now time.Time) (retried bool) {
	pol := r.Spec.RetryPolicy
	canRetry := !r.Spec.CancelRequested && phase.Retryable() && (!started || r.Status.Attempt < pol.Attempts())
	if !canRetry {
		r.Finish(phase, reason, message, now)
		return false
	}
	attempt := max(r.Status.Attempt, 1)
	next := attempt
	r.Status.NotBefore = nil
	if started {
		next = attempt + 1
		t := metav1.NewMicroTime(now.Add(pol.Delay(next)))
		r.Status.NotBefore = &t
	}
	r.Status.Phase = RunPending
	r.Status.Attempt = next
	r.Status.AssignedPod, r.Status.AssignedPodUID = "", ""
	r.Status.StartTime, r.Status.ScheduledTime, r.Status.CompletionTime = nil, nil, nil
	r.Status.ExitCode, r.Status.Outputs = nil, nil
	r.Status.Reason = reason
	r.Status.Message = TruncateMessage(fmt.Sprintf("attempt %d of %d: %s; retrying as attempt %d", attempt, pol.Attempts(), message, next))
	r.Status.ObservedGeneration = r.Generation
	r.Status.Conditions = nil
	t := metav1.NewTime(now)
	apimeta.SetStatusCondition(&r.Status.Conditions, metav1.Condition{Type: ConditionReady, Status: metav1.ConditionFalse,
		Reason: reason, Message: r.Status.Message, ObservedGeneration: r.Generation, LastTransitionTime: t})
	apimeta.SetStatusCondition(&r.Status.Conditions, metav1.Condition{Type: ConditionReconciling, Status: metav1.ConditionTrue,
		Reason: ReasonRetrying, Message: r.Status.Message, ObservedGeneration: r.Generation, LastTransitionTime: t})
	return true
}
