package workflow

import (
	"context"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	krtv1 "krt.dev/krt/api/v1alpha1"
)

// A step's Run carries its WorkflowRun's repository and event, which a
// Runtime's allowedWorkflows reads to keep pull-request code off it.
func TestRunsCarryTheirRepositoryAndEvent(t *testing.T) {
	ns := env.Namespace(t)
	wr := &krtv1.WorkflowRun{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "pr", Labels: map[string]string{
			krtv1.LabelRepository: "web", krtv1.LabelEvent: krtv1.EventPullRequest}},
		Spec: krtv1.WorkflowRunSpec{Workflow: "pr", Revision: "main@sha1:0123456789abcdef",
			Event:      krtv1.WorkflowEvent{Type: krtv1.EventPullRequest},
			Definition: krtv1.WorkflowSpec{Steps: []krtv1.Step{{Name: "a", Runtime: "bash", Run: "true"}}}, Tools: testTools},
	}
	if err := env.Client.Create(context.Background(), wr); err != nil {
		t.Fatal(err)
	}
	run := waitRunOf(t, ns, wr, "a")
	if run.Labels[krtv1.LabelRepository] != "web" || run.Labels[krtv1.LabelEvent] != krtv1.EventPullRequest {
		t.Errorf("the step's Run carries labels %v, want its WorkflowRun's repository web and event pullRequest", run.Labels)
	}
}
