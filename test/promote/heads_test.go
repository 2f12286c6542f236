package promote

import (
	"fmt"
	"strings"
	"testing"

	krtv1 "krt.dev/krt/api/v1alpha1"
	"krt.dev/krt/workflows/runs"
)

// saying is a PR workflow whose one step says, in its log and its
// outputs, which definition it was built from.
func saying(name, from string) string {
	return fmt.Sprintf(`apiVersion: krt.dev/v1alpha1
kind: Workflow
metadata:
  name: %[1]s
spec:
  on:
    pullRequest:
      branches: [main]
  steps:
    - name: check
      runtime: bash
      run: |
        echo "%[1]s defined by %[2]s"
        echo "from=%[2]s" >> "$KRT_OUTPUTS"
`, name, from)
}

// With pullRequests.definitionsFrom: head, a PR that changes a workflow
// runs the head's definition, in real runtimes: the step's log and
// outputs are the head's, and a workflow only the head has runs too.
func TestHeadDefinitionsEndToEnd(t *testing.T) {
	ns := hub.env.Namespace(t)
	runtime(t, hub, ns, "bash")
	const token = "head-hook-token"
	clone, hook := servedRepo(t, ns, token, map[string]string{"workflows/pr-checks.yaml": saying("pr-checks", "main")},
		&krtv1.PullRequestPolicy{Enabled: true, Provider: "generic", DefinitionsFrom: "head", AllowedAuthors: []string{"dana"}}, "pr-checks")

	clone.Write(map[string]string{"workflows/pr-checks.yaml": saying("pr-checks", "the head"),
		"workflows/pr-lint.yaml": saying("pr-lint", "the head")})
	head := clone.Commit("PR 5: checks that say where they come from")
	clone.Push("+HEAD:refs/pull/5/head")
	sendPRHook(t, hook, token, 5, "opened", head, "team/flows")

	for _, wf := range []string{"pr-checks", "pr-lint"} {
		name := runs.Name(wf, fmt.Sprintf("pr5-%s", head[:7]))
		wr := waitRun(t, ns, name, "finish", func(wr *krtv1.WorkflowRun) bool { return wr.Status.Phase.Terminal() })
		if n := node(wr, "check"); wr.Status.Phase != krtv1.WorkflowSucceeded || n.Outputs["from"] != "the head" {
			t.Errorf("%s ended %s, outputs %v; want Succeeded from the head", name, describe(wr), n.Outputs)
		}
		out, code := krt(t, hub.env.Kubeconfig, "wf", "logs", name, "-n", ns)
		if code != 0 || !strings.Contains(out, "\n"+wf+" defined by the head\n") || strings.Contains(out, "defined by main") {
			t.Errorf("krt wf logs %s: exit %d, want the head's line only:\n%s", name, code, out)
		}
	}
}
