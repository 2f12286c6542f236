package runtimed

import (
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	runtimev1 "krt.dev/krt/api/runtime/v1"
	krtv1 "krt.dev/krt/api/v1alpha1"
	"krt.dev/krt/runtimed/logs"
	"krt.dev/krt/runtimed/mask"
)

func TestCollectorResult(t *testing.T) {
	exited := func(code int32) *runtimev1.ExecuteEvent {
		return &runtimev1.ExecuteEvent{Event: &runtimev1.ExecuteEvent_Exit{Exit: &runtimev1.Exit{Code: code, Reason: runtimev1.ExitReason_EXIT_REASON_EXITED}}}
	}
	ended := func(reason runtimev1.ExitReason) *runtimev1.ExecuteEvent {
		return &runtimev1.ExecuteEvent{Event: &runtimev1.ExecuteEvent_Exit{Exit: &runtimev1.Exit{Code: 143, Reason: reason, Message: "start error with s3cret"}}}
	}
	stderr := func(s string) *runtimev1.ExecuteEvent {
		return &runtimev1.ExecuteEvent{Event: &runtimev1.ExecuteEvent_Log{Log: &runtimev1.LogChunk{Stream: runtimev1.Stream_STREAM_STDERR, Data: []byte(s)}}}
	}
	outputs := func(o *runtimev1.Outputs) *runtimev1.ExecuteEvent {
		return &runtimev1.ExecuteEvent{Event: &runtimev1.ExecuteEvent_Outputs{Outputs: o}}
	}
	cases := []struct {
		name        string
		events      []*runtimev1.ExecuteEvent
		wantPhase   krtv1.RunPhase
		wantReason  string
		wantMessage string
		wantOutputs map[string]string
		notAsked    bool // runtimed did not ask it to stop
	}{
		{name: "success with masked outputs", events: []*runtimev1.ExecuteEvent{outputs(&runtimev1.Outputs{Values: map[string]string{"token": "s3cret", "n": "1"}}), exited(0)},
			wantPhase: krtv1.RunSucceeded, wantReason: krtv1.ReasonSucceeded, wantOutputs: map[string]string{"token": "***", "n": "1"}},
		{name: "failure carries the stderr tail", events: []*runtimev1.ExecuteEvent{stderr("one\ntwo s3cret\n"), stderr("three"), exited(2)},
			wantPhase: krtv1.RunFailed, wantReason: krtv1.ReasonExitCode, wantMessage: "exit code 2: one\ntwo ***\nthree"},
		{name: "outputs too large", events: []*runtimev1.ExecuteEvent{outputs(&runtimev1.Outputs{Error: "too big", ErrorKind: runtimev1.OutputsError_OUTPUTS_ERROR_TOO_LARGE}), exited(0)},
			wantPhase: krtv1.RunFailed, wantReason: krtv1.ReasonOutputsTooLarge, wantMessage: "too big"},
		{name: "invalid outputs", events: []*runtimev1.ExecuteEvent{outputs(&runtimev1.Outputs{Error: "line 1", ErrorKind: runtimev1.OutputsError_OUTPUTS_ERROR_INVALID}), exited(0)},
			wantPhase: krtv1.RunFailed, wantReason: krtv1.ReasonOutputsInvalid},
		{name: "timeout", events: []*runtimev1.ExecuteEvent{ended(runtimev1.ExitReason_EXIT_REASON_TIMEOUT)},
			wantPhase: krtv1.RunTimeout, wantReason: krtv1.ReasonTimeout, wantMessage: "timed out after 1s"},
		{name: "cancelled", events: []*runtimev1.ExecuteEvent{ended(runtimev1.ExitReason_EXIT_REASON_CANCELLED)},
			wantPhase: krtv1.RunCancelled, wantReason: krtv1.ReasonCancelled},
		{name: "stopped by a shutting-down pod", events: []*runtimev1.ExecuteEvent{ended(runtimev1.ExitReason_EXIT_REASON_CANCELLED)}, notAsked: true,
			wantPhase: krtv1.RunFailed, wantReason: krtv1.ReasonExecutionLost},
		{name: "could not start", events: []*runtimev1.ExecuteEvent{ended(runtimev1.ExitReason_EXIT_REASON_START_FAILED)},
			wantPhase: krtv1.RunFailed, wantReason: krtv1.ReasonRuntimeError, wantMessage: "could not start: start error with ***"},
		{name: "secret in an output key", events: []*runtimev1.ExecuteEvent{outputs(&runtimev1.Outputs{Values: map[string]string{"s3cret": "1"}}), exited(0)},
			wantPhase: krtv1.RunFailed, wantReason: krtv1.ReasonOutputsInvalid},
		{name: "no exit", events: nil, wantPhase: krtv1.RunFailed, wantReason: krtv1.ReasonRuntimeError},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			run := &krtv1.Run{Spec: krtv1.RunSpec{Timeout: &metav1.Duration{Duration: time.Second}}}
			a := &Agent{out: newJSONLines(nil)}
			c := newCollector(a, run, mask.New("s3cret"), logs.NewStore(logs.Options{}).Open("u"))
			var offset int64
			for _, ev := range tc.events {
				if l := ev.GetLog(); l != nil { // as the Runtime Server numbers its output
					l.Offset = offset
					offset += int64(len(l.Data))
				}
				c.event(ev)
			}
			c.flush()
			res := c.result(run, false, !tc.notAsked)
			if res.phase != tc.wantPhase || res.reason != tc.wantReason {
				t.Errorf("phase/reason = %s/%s, want %s/%s (%s)", res.phase, res.reason, tc.wantPhase, tc.wantReason, res.message)
			}
			if tc.wantMessage != "" && res.message != tc.wantMessage {
				t.Errorf("message = %q, want %q", res.message, tc.wantMessage)
			}
			if strings.Contains(res.message, "s3cret") {
				t.Errorf("the secret leaked into the message: %q", res.message)
			}
			for k, v := range tc.wantOutputs {
				if res.outputs[k] != v {
					t.Errorf("outputs[%s] = %q, want %q", k, res.outputs[k], v)
				}
			}
		})
	}
}

func TestLanguage(t *testing.T) {
	a := &Agent{opts: Options{Languages: []krtv1.Language{krtv1.LanguagePython}}}
	if l, ok := a.language(""); !ok || l != runtimev1.Language_LANGUAGE_PYTHON {
		t.Errorf("default = %v %v, want the runtime's first language", l, ok)
	}
	if _, ok := a.language(krtv1.LanguageBash); ok {
		t.Error("bash accepted by a python-only runtime")
	}
}

func TestLostExecutionCountsUnlessItNeverStarted(t *testing.T) {
	claimed := metav1.NewTime(time.Now())
	run := &krtv1.Run{Status: krtv1.RunStatus{StartTime: &claimed}}
	a := &Agent{serverStarted: claimed.Add(-time.Hour)}
	if res := a.lost(run); !res.neverStarted {
		t.Errorf("a server up since before the claim: %+v, want never started", res)
	}
	a.serverStarted = claimed.Add(time.Hour) // the server restarted after the claim
	if res := a.lost(run); res.neverStarted || res.reason != krtv1.ReasonExecutionLost {
		t.Errorf("a server restarted after the claim: %+v, want a counted, lost attempt", res)
	}
}
