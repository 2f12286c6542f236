package workflow

import (
	"context"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/record"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"

	"krt.dev/krt/api/scheme"
	krtv1 "krt.dev/krt/api/v1alpha1"
)

// A pull request's run on hold says what an approval lets it use: where
// its steps run and which Secrets they read, not only its commit.
func TestAwaitRunApprovalNamesWhatTheRunUses(t *testing.T) {
	c := fake.NewClientBuilder().WithScheme(scheme.New()).WithIndex(&krtv1.Approval{}, indexApprovalRun, approvalRun).Build()
	r := &Reconciler{client: c, expr: testEnv(t), recorder: record.NewFakeRecorder(8), now: time.Now}
	wr := &krtv1.WorkflowRun{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "wr"},
		Spec: krtv1.WorkflowRunSpec{Workflow: "w",
			Event: krtv1.WorkflowEvent{Type: krtv1.EventPullRequest, PullRequest: &krtv1.PullRequest{Number: 1, HeadSHA: "abc", Base: "main"}},
			Definition: krtv1.WorkflowSpec{Steps: []krtv1.Step{
				{Name: "test", Runtime: "bash", Run: "true"},
				{Name: "deploy", Runtime: "deployer", Cluster: "prod", Run: "true", SecretEnv: []krtv1.SecretEnvVar{
					{Name: "TOKEN", SecretKeyRef: krtv1.SecretKeySelector{Name: "prod-deploy", Key: "token"}}}},
			}}},
		Status: krtv1.WorkflowRunStatus{Phase: krtv1.WorkflowAwaitingApproval}}
	if _, err := r.newPass(wr).awaitRunApproval(context.Background()); err != nil {
		t.Fatal(err)
	}
	want := "waiting for an approval of abc; its steps run on bash, prod/deployer, and read the Secrets prod-deploy/token"
	if !strings.Contains(wr.Status.Message, want) {
		t.Errorf("message = %q, want it to hold %q", wr.Status.Message, want)
	}
}
