package workflow

import (
	"context"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	krtv1 "krt.dev/krt/api/v1alpha1"
	"krt.dev/krt/workflows/dag"
	"krt.dev/krt/workflows/expr"
)

func TestEventVars(t *testing.T) {
	tests := []struct {
		name string
		wr   krtv1.WorkflowRun
		want map[string]any // keys checked; others may be present
	}{{
		name: "push",
		wr: krtv1.WorkflowRun{Spec: krtv1.WorkflowRunSpec{Event: krtv1.WorkflowEvent{Type: krtv1.EventPush,
			Push: &krtv1.PushEvent{Revision: "main@sha1:abcdef1234", Branch: "main"}}}},
		want: map[string]any{"type": "push", "revision": "abcdef1234", "branch": "main"},
	}, {
		name: "pull request",
		wr: krtv1.WorkflowRun{Spec: krtv1.WorkflowRunSpec{Event: krtv1.WorkflowEvent{Type: krtv1.EventPullRequest,
			PullRequest: &krtv1.PullRequest{Number: 42, HeadSHA: "f00d", HeadRef: "feature", Base: "main"}}}},
		want: map[string]any{"type": "pullRequest", "revision": "f00d", "branch": "feature"},
	}, {
		name: "manual uses the run's revision",
		wr:   krtv1.WorkflowRun{Spec: krtv1.WorkflowRunSpec{Revision: "sha1:beef", Event: krtv1.WorkflowEvent{Type: krtv1.EventManual}}},
		want: map[string]any{"type": "manual", "revision": "beef", "branch": ""},
	}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := eventVars(&tc.wr)
			if err != nil {
				t.Fatal(err)
			}
			for k, v := range tc.want {
				if got[k] != v {
					t.Errorf("event.%s = %#v, want %#v", k, got[k], v)
				}
			}
		})
	}
}

// The event reaches CEL with whole numbers as ints, so comparing a PR
// number with an int literal works.
func TestEventInExpressions(t *testing.T) {
	wr := &krtv1.WorkflowRun{Spec: krtv1.WorkflowRunSpec{Event: krtv1.WorkflowEvent{Type: krtv1.EventPullRequest,
		PullRequest: &krtv1.PullRequest{Number: 7, HeadSHA: "0123456789", Base: "main", Draft: false}}}}
	ev, err := eventVars(wr)
	if err != nil {
		t.Fatal(err)
	}
	env := testEnv(t)
	ok, err := env.EvalBool(context.Background(), `event.pullRequest.number == 7 && !event.pullRequest.draft && event.revision.substring(0, 7) == "0123456"`, expr.Vars{Event: ev})
	if err != nil || !ok {
		t.Fatalf("EvalBool = %v, %v", ok, err)
	}
}

func TestParamVars(t *testing.T) {
	wr := &krtv1.WorkflowRun{Spec: krtv1.WorkflowRunSpec{
		Params: map[string]string{"given": "mine"},
		Definition: krtv1.WorkflowSpec{Params: []krtv1.Param{
			{Name: "version", Default: ptr("${{ event.revision.substring(0, 7) }}")},
			{Name: "given", Default: ptr("default")},
			{Name: "none"},
		}},
	}}
	got, err := paramVars(context.Background(), testEnv(t), wr, map[string]any{"revision": "abcdef123456"})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]any{"version": "abcdef1", "given": "mine"}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("params (-want +got):\n%s", d)
	}
	wr.Spec.Definition.Params[0].Default = ptr("${{ event.nope }}")
	if _, err := paramVars(context.Background(), testEnv(t), wr, map[string]any{}); err == nil || !strings.Contains(err.Error(), "default of param version") {
		t.Errorf("err = %v, want one naming the param", err)
	}
}

func TestStepVars(t *testing.T) {
	got := stepVars(map[string]dag.Summary{
		"a": {Started: true, Phase: krtv1.NodeSucceeded, Outputs: map[string]string{"x": "1"}},
		"b": {Started: true, Phase: krtv1.NodeCancelled},
		"c": {Phase: krtv1.NodePending},
		"d": {Started: true, Phase: krtv1.NodeRunning},
		"e": {Started: true, Phase: krtv1.NodeSkipped},
	})
	want := map[string]expr.StepVars{
		"a": {Outputs: map[string]string{"x": "1"}, Phase: "Succeeded", Status: "success"},
		"b": {Phase: "Cancelled", Status: "failed"},
		"c": {Phase: "Pending", Status: "pending"},
		"d": {Phase: "Running", Status: "running"},
		"e": {Phase: "Skipped", Status: "skipped"},
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("steps (-want +got):\n%s", d)
	}
}
