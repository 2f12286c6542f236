package runtimed

import (
	"fmt"
	"strings"
	"time"

	runtimev1 "krt.dev/krt/api/runtime/v1"
	krtv1 "krt.dev/krt/api/v1alpha1"
)

// tailLines and tailBytes bound the stderr tail in a failed Run's message.
const (
	tailLines = 10
	tailBytes = 2048
)

// result is how one attempt ended, ready to be written to status.
type result struct {
	phase    krtv1.RunPhase
	reason   string
	message  string
	exitCode *int32
	outputs  map[string]string
	// neverStarted marks an attempt whose process provably never ran.
	neverStarted bool
	artifacts    []krtv1.ArtifactRef
	cacheHit     bool
	memoized     bool
	// store is the ArtifactStore the attempt opened, if it moved files,
	// so that archiving its log need not read it from the API again.
	store *openStore
}

// apply ends the attempt: the Run finishes, or goes back for another
// attempt if its retry policy allows. It reports which.
func (r result) apply(run *krtv1.Run) (retried bool) {
	run.Status.ExitCode = r.exitCode
	run.Status.Outputs = r.outputs
	run.Status.Artifacts, run.Status.CacheHit, run.Status.Memoized = r.artifacts, r.cacheHit, r.memoized
	return run.RetryOrFinish(r.phase, r.reason, r.message, !r.neverStarted, time.Now())
}

// result maps the exit and outputs onto a terminal phase. timedOut says
// that runtimed's own backstop cancelled the execution; asked, that
// runtimed asked for it to stop at all.
func (c *collector) result(run *krtv1.Run, timedOut, asked bool) result {
	if c.exit == nil {
		return result{phase: krtv1.RunFailed, reason: krtv1.ReasonRuntimeError,
			message: "the runtime server ended the stream without an exit"}
	}
	code := c.exit.GetCode()
	res := result{exitCode: &code}
	reason := c.exit.GetReason()
	if timedOut && reason == runtimev1.ExitReason_EXIT_REASON_CANCELLED {
		reason = runtimev1.ExitReason_EXIT_REASON_TIMEOUT
	}
	switch reason {
	case runtimev1.ExitReason_EXIT_REASON_TIMEOUT:
		res.phase, res.reason, res.message = krtv1.RunTimeout, krtv1.ReasonTimeout, "timed out"
		if run.Spec.Timeout != nil {
			res.message = fmt.Sprintf("timed out after %s", run.Spec.Timeout.Duration)
		}
		res.message += c.logNote()
	case runtimev1.ExitReason_EXIT_REASON_CANCELLED:
		res.phase, res.reason, res.message = krtv1.RunCancelled, krtv1.ReasonCancelled, "cancelled while running"+c.logNote()
		if !asked {
			// Nobody cancelled the Run: the Runtime Server stopped it as
			// its container or pod shut down. That is a lost attempt,
			// which the retry policy may run again elsewhere, not a
			// cancel.
			res.phase, res.reason = krtv1.RunFailed, krtv1.ReasonExecutionLost
			res.message = "the Runtime Server stopped it as its pod or container shut down" + c.logNote()
		}
	case runtimev1.ExitReason_EXIT_REASON_START_FAILED:
		res.phase, res.reason = krtv1.RunFailed, krtv1.ReasonRuntimeError
		res.message = "could not start: " + c.masker.String(c.exit.GetMessage())
	default:
		if code == 0 {
			res.phase, res.reason, res.message = krtv1.RunSucceeded, krtv1.ReasonSucceeded, "exit code 0"+c.logNote()
		} else {
			res.phase, res.reason = krtv1.RunFailed, krtv1.ReasonExitCode
			res.message = c.withTail(fmt.Sprintf("exit code %d", code) + c.logNote())
		}
	}
	if res.phase == krtv1.RunSucceeded || res.phase == krtv1.RunFailed {
		c.applyOutputs(&res)
	}
	return res
}

func (c *collector) applyOutputs(res *result) {
	out := c.outputs
	if out == nil {
		return
	}
	if out.GetError() != "" {
		res.phase = krtv1.RunFailed
		res.reason = krtv1.ReasonOutputsInvalid
		if out.GetErrorKind() == runtimev1.OutputsError_OUTPUTS_ERROR_TOO_LARGE {
			res.reason = krtv1.ReasonOutputsTooLarge
		}
		res.message = c.masker.String(out.GetError())
		return
	}
	if len(out.GetValues()) > 0 {
		masked, ok := c.masker.Map(out.GetValues())
		if !ok {
			res.phase, res.reason = krtv1.RunFailed, krtv1.ReasonOutputsInvalid
			res.message = "an output key contains a secretEnv value"
			return
		}
		res.outputs = masked
	}
}

// withTail appends the last lines of stderr, within the message limit.
func (c *collector) withTail(msg string) string {
	tail := strings.Join(c.tail, "\n")
	if len(tail) > tailBytes {
		tail = "…" + tail[len(tail)-tailBytes:]
	}
	if tail == "" {
		return msg
	}
	return msg + ": " + tail
}
