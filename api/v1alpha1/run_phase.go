package v1alpha1

import (
	"strings"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// RunPhase is where a Run is in its life:
// Pending → Scheduled → Running → Succeeded | Failed | Timeout | Cancelled.
// +kubebuilder:validation:Enum=Pending;Scheduled;Running;Succeeded;Failed;Timeout;Cancelled
type RunPhase string

const (
	RunPending   RunPhase = "Pending"
	RunScheduled RunPhase = "Scheduled"
	RunRunning   RunPhase = "Running"
	RunSucceeded RunPhase = "Succeeded"
	RunFailed    RunPhase = "Failed"
	RunTimeout   RunPhase = "Timeout"
	RunCancelled RunPhase = "Cancelled"
)

// The scheduler, runtimed and the reaper all decide from these, so the
// meaning of a phase lives in one place.

// Terminal reports whether the phase is final.
func (p RunPhase) Terminal() bool {
	switch p {
	case RunSucceeded, RunFailed, RunTimeout, RunCancelled:
		return true
	}
	return false
}

// HoldsCapacity reports whether a Run in this phase occupies a slot on its
// assigned pod.
func (p RunPhase) HoldsCapacity() bool {
	return p == RunScheduled || p == RunRunning
}

// Pending treats an empty phase, as a newly created Run has, as Pending.
func (r *Run) Pending() bool {
	return r.Status.Phase == "" || r.Status.Phase == RunPending
}

// MaxMessage is the longest status.message the schema allows.
const MaxMessage = 4096

// TruncateMessage keeps a message within MaxMessage, cutting its middle:
// the start says what failed, the end (a stderr tail) says why.
func TruncateMessage(m string) string {
	if len(m) <= MaxMessage {
		return m
	}
	const sep = " … "
	half := (MaxMessage - len(sep)) / 2
	head, tail := m[:half], m[len(m)-half:]
	// Do not leave half a UTF-8 character at either cut.
	head = strings.ToValidUTF8(head, "")
	tail = strings.ToValidUTF8(tail, "")
	return head + sep + tail
}

// Reasons recorded in status.reason and on the Ready condition.
const (
	ReasonSucceeded       = "Succeeded"
	ReasonExitCode        = "NonZeroExit"
	ReasonTimeout         = "Timeout"
	ReasonCancelled       = "Cancelled"
	ReasonOutputsTooLarge = "OutputsTooLarge"
	ReasonOutputsInvalid  = "OutputsInvalid"
	ReasonSecretNotFound  = "SecretNotFound"
	ReasonRuntimeError    = "RuntimeError"
	ReasonExecutionLost   = "ExecutionLost"
	ReasonRuntimeNotFound = "RuntimeNotFound"
	ReasonNoCapacity      = "NoReadyCapacity"
	ReasonUnsupported     = "LanguageNotSupported"
	// ReasonNotAdmitted ends a Run that its Runtime's allowedWorkflows
	// does not let in; it never executes.
	ReasonNotAdmitted = "NotAdmitted"
	// ReasonRerunRefused ends a WorkflowRun that names a run to replay
	// (spec.rerunOf) but is not a copy of one krt started; it never
	// begins, and reports no commit status.
	ReasonRerunRefused = "RerunRefused"
)

// Condition types. Ready follows kstatus: True once a Run succeeded, False
// with Stalled=True once it ended any other way.
const (
	ConditionReady       = "Ready"
	ConditionStalled     = "Stalled"
	ConditionReconciling = "Reconciling"
	// ConditionScheduled is False while the scheduler cannot place a Run.
	ConditionScheduled = "Scheduled"
	// ConditionScaling on a Runtime says why its pool has the size it
	// has: autoscaling's reckoning, and pods draining.
	ConditionScaling = "Scaling"
	// ConditionArtifactStore on a Runtime says whether the ArtifactStore
	// its spec.artifactStore names exists. Its pods run either way.
	ConditionArtifactStore = "ArtifactStore"
)

// Finish moves the Run's status to a terminal phase with its kstatus
// conditions, in memory. The caller writes it in one status update, so a
// finished Run costs a single write however it ended.
func (r *Run) Finish(phase RunPhase, reason, message string, now time.Time) {
	message = TruncateMessage(message)
	t := metav1.NewTime(now)
	r.Status.Phase = phase
	r.Status.Reason = reason
	r.Status.Message = message
	r.Status.CompletionTime = &t
	r.Status.ObservedGeneration = r.Generation
	ready := metav1.Condition{
		Type: ConditionReady, Status: metav1.ConditionTrue, Reason: reason,
		Message: message, ObservedGeneration: r.Generation, LastTransitionTime: t,
	}
	conds := []metav1.Condition{ready}
	if phase != RunSucceeded {
		conds[0].Status = metav1.ConditionFalse
		stalled := ready
		stalled.Type = ConditionStalled
		stalled.Status = metav1.ConditionTrue
		conds = append(conds, stalled)
	}
	r.Status.Conditions = conds
}
