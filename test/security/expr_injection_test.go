package security

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"sigs.k8s.io/controller-runtime/pkg/client"

	krtv1 "krt.dev/krt/api/v1alpha1"
	"krt.dev/krt/workflows/expr"
	"krt.dev/krt/workflows/parse"
	"krt.dev/krt/workflows/runs"
)

// injectWorkflow pastes a pull request's branch and two params into
// scripts, the way a GitHub Actions workflow would, and once the way krt
// asks for (env:). %[1]s is its name.
const injectWorkflow = `apiVersion: krt.dev/v1alpha1
kind: Workflow
metadata:
  name: %[1]s
spec:
  on: {manual: {}}
  params:
    - {name: note}
    - {name: code}
  steps:
    - name: say
      runtime: bash
      run: |
        echo "${{ event.branch }}"
        echo "branch=${{ event.branch }}" >> "$KRT_OUTPUTS"
    - name: heredoc
      runtime: bash
      run: |
        cat >> "$KRT_OUTPUTS" <<EOF
        ref=${{ event.pullRequest.headRef }}
        note=${{ params.note }}
        EOF
    - name: py-pasted
      runtime: bash
      language: python
      run: |
        print("${{ params.code }}")
    - name: py-env
      runtime: bash
      language: python
      env: {CODE: "${{ params.code }}", BRANCH: "${{ event.branch }}"}
      run: |
        import os
        with open(os.environ["KRT_OUTPUTS"], "a") as f:
            f.write("code=" + os.environ["CODE"] + "\n" + "branch=" + os.environ["BRANCH"] + "\n")
`

// TestEventValuesNeverBecomeScriptSource is a pull request whose branch
// is named x";touch${IFS}<marker>;", and params that hold a command
// substitution and python code, against a workflow that pastes them into
// bash and python. krt validate and the source controller refuse the file
// with its lines and the fix; applied by hand, where neither looks, the
// run executes nothing: each script reads the values from its environment,
// and prints them as they are.
func TestEventValuesNeverBecomeScriptSource(t *testing.T) {
	dir := t.TempDir()
	marker := func(name string) string { return filepath.Join(dir, "pwned-"+name) }
	branch := `x";touch${IFS}` + marker("branch") + `;"`
	params := map[string]string{
		"note": "$(touch${IFS}" + marker("note") + ")",
		"code": `"+__import__('os').system('touch ` + marker("code") + `')+"`,
	}
	text := fmt.Sprintf(injectWorkflow, "inject")

	t.Run("krt validate", func(t *testing.T) {
		out, code := exprValidate(t, map[string]string{"inject.yaml": text})
		t.Logf("krt validate (exit %d):\n%s", code, out)
		if code != 1 {
			t.Errorf("krt validate exited %d, want 1", code)
		}
		lines := strings.Split(out, "\n")
		exprContains(t, lines, "inject.yaml:14: spec.steps[0].run: ${{ event.branch }} puts event data into the script",
			`pass it as env instead: env: {BRANCH: "${{ event.branch }}"}, and use "$BRANCH" in the script`)
		exprContains(t, lines, "inject.yaml:15: spec.steps[0].run: ${{ event.branch }}")
		exprContains(t, lines, "inject.yaml:20: spec.steps[1].run: ${{ event.pullRequest.headRef }}", `env: {HEAD_REF:`)
		exprContains(t, lines, "inject.yaml:27: spec.steps[2].run: a python script cannot hold ${{ params.code }}", `read os.environ["CODE"]`)
	})

	t.Run("the source controller", func(t *testing.T) {
		repo, _ := exprRepo(t, env.Namespace(t), map[string]string{"workflows/inject.yaml": text}, nil)
		errs := exprParseErrors(t, repo)
		t.Logf("parse errors:\n%s", strings.Join(errs, "\n"))
		exprContains(t, errs, "workflows/inject.yaml:14: spec.steps[0].run: ${{ event.branch }} puts event data into the script")
	})

	t.Run("a run of it, applied by hand", func(t *testing.T) {
		ns := env.Namespace(t)
		startRuntime(t, ns, "bash", 1, func(rt *krtv1.Runtime) {
			rt.Spec.Languages = []krtv1.Language{krtv1.LanguageBash, krtv1.LanguagePython}
		})
		wr := injectRun(t, ns, text, branch, params)
		got := exprWaitRun(t, ns, wr.Name, 2*time.Minute)
		for _, name := range []string{"branch", "note", "code"} {
			if _, err := os.Stat(marker(name)); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("marker %s exists (stat: %v): a value ran as code", marker(name), err)
			}
		}
		if got.Status.Phase != krtv1.WorkflowSucceeded {
			t.Fatalf("run ended %s: %s", got.Status.Phase, got.Status.Message)
		}
		want := map[string]map[string]string{
			"say":     {"branch": branch},
			"heredoc": {"ref": branch, "note": params["note"]},
			"py-env":  {"code": params["code"], "branch": branch},
		}
		for step, outputs := range want {
			for k, v := range outputs {
				if got := exprNode(got, step).Outputs[k]; got != v {
					t.Errorf("step %s output %s = %q, want the value as sent, %q", step, k, got, v)
				}
			}
		}
		say := getRun(t, ns, exprNode(got, "say").Run)
		if say.Spec.Script != "echo \"${KRT_EXPR_1}\"\necho \"branch=${KRT_EXPR_1}\" >> \"$KRT_OUTPUTS\"\n" {
			t.Errorf("the Run's script holds %q", say.Spec.Script)
		}
		if logs := krtLogs(t, say); !strings.Contains(logs, branch+"\n") {
			t.Errorf("krt logs of step say lack the branch as sent; they hold %q", logs)
		}
	})

	t.Run("a runtime chosen by the event", func(t *testing.T) {
		placed := strings.Replace(text, "    - name: say\n      runtime: bash", "    - name: say\n      runtime: \"${{ event.branch }}\"", 1)
		out, _ := exprValidate(t, map[string]string{"placed.yaml": placed})
		exprContains(t, strings.Split(out, "\n"), "placed.yaml:12: spec.steps[0].runtime: runtime reads event, so whoever sends the event would choose where the step runs")
		ns := env.Namespace(t)
		wr := injectRun(t, ns, placed, "bash", params)
		got := exprWaitRun(t, ns, wr.Name, time.Minute)
		if n := exprNode(got, "say"); n.Phase != krtv1.NodeFailed || !strings.Contains(n.Message, "runtime reads event") || n.Run != "" {
			t.Errorf("step say: %s %q (Run %q); want Failed before any Run, saying the runtime reads event", n.Phase, n.Message, n.Run)
		}
	})
}

// injectRun applies the workflow text by hand, as kubectl would (nothing
// validates it), and starts the run a pull request from branch would.
func injectRun(t *testing.T, ns, text, branch string, params map[string]string) *krtv1.WorkflowRun {
	t.Helper()
	docs, errs := parse.File("inject.yaml", []byte(text))
	if len(errs) > 0 || len(docs) != 1 {
		t.Fatalf("parsing the workflow: %v", errs)
	}
	wf := docs[0].Object.(*krtv1.Workflow)
	wf.Namespace = ns
	if err := env.Client.Create(context.Background(), wf); err != nil {
		t.Fatal(err)
	}
	exprEnv, err := expr.NewEnv()
	if err != nil {
		t.Fatal(err)
	}
	ev := krtv1.WorkflowEvent{Type: krtv1.EventPullRequest, PullRequest: &krtv1.PullRequest{
		Number: 7, HeadSHA: "0123456789abcdef0123456789abcdef01234567", HeadRef: branch, Base: "main", Action: "opened"}}
	wr, err := runs.NewRun(wf, nil, ev, runs.Name(wf.Name, "pr7"), params, exprEnv)
	if err != nil {
		t.Fatal(err)
	}
	if err := env.Client.Create(context.Background(), wr); err != nil {
		t.Fatal(err)
	}
	if err := env.Client.Get(context.Background(), client.ObjectKeyFromObject(wr), wr); err != nil {
		t.Fatal(err)
	}
	return wr
}
