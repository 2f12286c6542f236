package security

import (
	"context"
	"strings"
	"testing"
	"time"

	"sigs.k8s.io/controller-runtime/pkg/client"

	krtv1 "krt.dev/krt/api/v1alpha1"
)

// approvalWorkflow deploys with a Secret, in another cluster, for every
// pull request: what an approver lets run is more than a commit.
const approvalWorkflow = `apiVersion: krt.dev/v1alpha1
kind: Workflow
metadata:
  name: preview
spec:
  on:
    pullRequest: {}
  params:
    - {name: region, default: eu}
  steps:
    - name: test
      runtime: bash
      run: "true"
    - name: deploy
      needs: [test]
      cluster: "preview-${{ params.region }}"
      runtime: deployer
      secretEnv:
        - {name: TOKEN, secretKeyRef: {name: preview-deploy, key: token}}
      run: "true"
`

// TestApprovalNamesWhatTheRunUses opens an untrusted pull request (the
// generic provider knows no author) against a workflow that deploys with
// a Secret. Its run waits for an approval, and says, where an approver
// looks before deciding and in the answer to the decision, on which
// runtimes and clusters its steps run and which Secrets they read.
func TestApprovalNamesWhatTheRunUses(t *testing.T) {
	ns := env.Namespace(t)
	repo, clone := exprRepo(t, ns, map[string]string{"workflows/preview.yaml": approvalWorkflow}, func(r *krtv1.WorkflowRepository) {
		r.Spec.PullRequests = &krtv1.PullRequestPolicy{Enabled: true, Provider: "generic"}
	})
	// A pull request older than its workflow starts nothing: open it once
	// the workflow is there.
	eventually(t, time.Minute, "workflow preview to be applied", func() bool {
		return env.Client.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: "preview"}, &krtv1.Workflow{}) == nil
	})
	clone.Write(map[string]string{"app.txt": "a change\n"})
	clone.Commit("a pull request")
	clone.Push("HEAD:refs/pull/1/head")
	exprRefetch(t, repo)
	uses := "its steps run on bash, preview-eu/deployer, and read the Secrets preview-deploy/token"
	var wr krtv1.WorkflowRun
	eventually(t, 2*time.Minute, "the pull request's run to await approval", func() bool {
		for _, r := range forkRuns(t, ns) {
			if r.Spec.Workflow == "preview" && r.Status.Phase == krtv1.WorkflowAwaitingApproval && r.Status.Message != "" {
				wr = r
				return true
			}
		}
		return false
	})
	t.Logf("run %s: %s", wr.Name, wr.Status.Message)
	if !strings.Contains(wr.Status.Message, uses) {
		t.Errorf("the waiting run's message %q does not say %q", wr.Status.Message, uses)
	}
	for _, c := range wr.Status.Conditions {
		if c.Type == krtv1.ConditionReady && !strings.Contains(c.Message, uses) {
			t.Errorf("its Ready condition %q does not say %q", c.Message, uses)
		}
	}
	graph, code := runKrtCLI(t, "wf", "graph", "-n", ns, wr.Name)
	if code != 0 || !strings.Contains(graph, uses) {
		t.Errorf("krt wf graph (exit %d) does not say %q:\n%s", code, uses, graph)
	}
	out, code := runKrtCLI(t, "wf", "approve", "-n", ns, wr.Name)
	t.Logf("krt wf approve:\n%s", out)
	if code != 0 || !strings.Contains(out, uses) {
		t.Errorf("krt wf approve (exit %d) does not say %q:\n%s", code, uses, out)
	}
}
