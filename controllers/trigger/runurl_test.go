package trigger

import (
	"strings"
	"testing"

	"github.com/fluxcd/pkg/runtime/conditions"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	krtv1 "krt.dev/krt/api/v1alpha1"
)

func TestRunURL(t *testing.T) {
	wr := &krtv1.WorkflowRun{ObjectMeta: metav1.ObjectMeta{Namespace: "team-a", Name: "build-push-abc1234", UID: "u-1"},
		Spec: krtv1.WorkflowRunSpec{Workflow: "build"}}
	for _, tc := range []struct {
		template, want, err string
	}{
		{template: "", want: ""},
		{template: "https://krt.example.com/runs/{{.Namespace}}/{{.Name}}", want: "https://krt.example.com/runs/team-a/build-push-abc1234"},
		{template: "http://ui/{{.Workflow}}?uid={{.UID}}", want: "http://ui/build?uid=u-1"},
		{template: "https://ui/{{.Nope}}", err: "fields: .Namespace, .Name, .Workflow, .UID"},
		{template: "https://ui/{{.Name", err: "--run-url"},
		{template: "/runs/{{.Name}}", err: "want an absolute http(s) URL"},
		{template: "javascript:alert({{.Name}})", err: "want an absolute http(s) URL"},
	} {
		u, err := ParseRunURL(tc.template)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("ParseRunURL(%q) = %v, want an error with %q", tc.template, err, tc.err)
			}
			continue
		}
		if err != nil {
			t.Errorf("ParseRunURL(%q): %v", tc.template, err)
			continue
		}
		if got := u.For(wr); got != tc.want {
			t.Errorf("%q gives %q, want %q", tc.template, got, tc.want)
		}
	}
}

// A status says the phase in its own words, whatever the run's message
// quotes of a step's output.
func TestStatusDescriptionIsThePhase(t *testing.T) {
	wr := &krtv1.WorkflowRun{Status: krtv1.WorkflowRunStatus{Phase: krtv1.WorkflowFailed,
		Message: "step build failed: aws_secret_access_key=hunter2"}}
	if state, desc := stateOf(wr); state == "" || desc != "failed" {
		t.Errorf("stateOf = %q %q, want the phase only", state, desc)
	}
}

// A rerun the engine refused never began, and its event (the commit it
// names) is whatever its creator wrote: it marks no commit as failing.
func TestRefusedRerunReportsNothing(t *testing.T) {
	wr := &krtv1.WorkflowRun{Spec: krtv1.WorkflowRunSpec{RerunOf: "deploy-1"},
		Status: krtv1.WorkflowRunStatus{Phase: krtv1.WorkflowFailed}}
	conditions.MarkFalse(wr, krtv1.ConditionReady, krtv1.ReasonRerunRefused, "spec.rerunOf: its spec differs")
	if state, _ := stateOf(wr); state != "" {
		t.Errorf("stateOf = %q, want nothing reported", state)
	}
}
