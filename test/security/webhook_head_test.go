package security

import (
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	krtv1 "krt.dev/krt/api/v1alpha1"
)

// With definitionsFrom: head, a PR's own files say what runs: its steps,
// Runtimes, Clusters, Secrets and concurrency group.
func headDefinitionAttacks(t *testing.T, rig *hookRig) {
	t.Run("with no allowedAuthors a same-repository head waits for an approval", func(t *testing.T) {
		h := rig.repository(t, "hd", map[string]string{"workflows/checks.yaml": prChecks("hd-checks")}, func(s *krtv1.WorkflowRepositorySpec) {
			s.PullRequests = &krtv1.PullRequestPolicy{Enabled: true, Provider: "github", DefinitionsFrom: "head"}
		}, "hd-checks")
		head := h.pushHead(t, "pr-1", "refs/pull/1/head", map[string]string{
			"workflows/checks.yaml": strings.Replace(prChecks("hd-checks"), "echo checked", "echo the head's own code", 1)})
		body := ghPR{action: "opened", number: 1, sha: head, sender: "alice", author: "alice"}.body()
		h.mustDeliver(t, 0, github("pull_request", rig.token, body), body, http.StatusAccepted)
		name := prRunName("hd-checks", 1, head)
		wr := waitWorkflowRun(t, rig.ns, name, "be created", func(*krtv1.WorkflowRun) bool { return true })
		if got := wr.Spec.Definition.Steps[0].Run; got != "echo the head's own code" {
			t.Fatalf("the run's step is %q, not the head's", got)
		}
		awaitsApproval(t, rig.ns, name)
	})

	t.Run("a head cannot cancel a base deploy through its concurrency group", func(t *testing.T) {
		gate := filepath.Join(t.TempDir(), "gate")
		h := rig.repository(t, "hg", map[string]string{
			"workflows/checks.yaml": prChecks("hg-checks"),
			"workflows/deploy.yaml": deployWaitingFor(gate),
		}, func(s *krtv1.WorkflowRepositorySpec) {
			s.PullRequests = &krtv1.PullRequestPolicy{Enabled: true, Provider: "github", DefinitionsFrom: "head", AllowedAuthors: []string{"alice"}}
		}, "hg-checks", "hg-deploy")
		out, code := runKrtCLI(t, "wf", "trigger", "hg-deploy", "-n", rig.ns)
		if code != 0 {
			t.Fatalf("krt wf trigger: %s", out)
		}
		deploy := strings.TrimSpace(out)
		waitWorkflowRun(t, rig.ns, deploy, "run its step", func(wr *krtv1.WorkflowRun) bool {
			return wr.Status.Phase == krtv1.WorkflowRunning && stepRuns(t, rig.ns, deploy) == 1
		})

		// Alice is trusted, and her head joins the deploy's group with
		// cancelInProgress.
		checks := strings.Replace(prChecks("hg-checks"), "  steps:\n",
			"  concurrency: {group: deploy-prod, cancelInProgress: true}\n  steps:\n", 1)
		head := h.pushHead(t, "pr-1", "refs/pull/1/head", map[string]string{"workflows/checks.yaml": checks})
		body := ghPR{action: "opened", number: 1, sha: head, sender: "alice", author: "alice"}.body()
		h.mustDeliver(t, 0, github("pull_request", rig.token, body), body, http.StatusAccepted)
		name := prRunName("hg-checks", 1, head)
		succeeds(t, rig.ns, name)
		wr := waitWorkflowRun(t, rig.ns, name, "be read", func(*krtv1.WorkflowRun) bool { return true })
		if wr.Spec.ConcurrencyGroup != "pull-request-head/deploy-prod" {
			t.Errorf("the head's run is in group %q", wr.Spec.ConcurrencyGroup)
		}
		d := waitWorkflowRun(t, rig.ns, deploy, "be read", func(*krtv1.WorkflowRun) bool { return true })
		if d.Spec.CancelRequested || d.Status.Phase != krtv1.WorkflowRunning {
			t.Errorf("the base deploy %s: cancelRequested %v, phase %s %q; the head's run cancelled it", deploy, d.Spec.CancelRequested, d.Status.Phase, d.Status.Message)
		}
		if err := os.WriteFile(gate, nil, 0o600); err != nil {
			t.Fatal(err)
		}
		waitWorkflowRun(t, rig.ns, deploy, "end", func(wr *krtv1.WorkflowRun) bool { return wr.Status.Phase.Terminal() })
	})
}

// deployWaitingFor is a base deploy in group deploy-prod whose step runs
// until gate exists.
func deployWaitingFor(gate string) string {
	return `apiVersion: krt.dev/v1alpha1
kind: Workflow
metadata:
  name: hg-deploy
spec:
  on:
    manual: {}
  concurrency:
    group: deploy-prod
  steps:
    - name: deploy
      runtime: bash
      run: until [ -e ` + gate + ` ]; do sleep 0.1; done
`
}
