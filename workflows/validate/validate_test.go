package validate

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	krtv1 "krt.dev/krt/api/v1alpha1"
	"krt.dev/krt/workflows/expr"
	"krt.dev/krt/workflows/parse"
)

func check(t *testing.T, files map[string]string) []*parse.Error {
	t.Helper()
	env, err := expr.NewEnv()
	if err != nil {
		t.Fatal(err)
	}
	var docs []parse.Document
	for name, content := range files {
		d, errs := parse.File(name, []byte(content))
		if len(errs) > 0 {
			t.Fatalf("parse %s: %v", name, errs)
		}
		docs = append(docs, d...)
	}
	return Set(docs, map[string]*krtv1.ToolSpec{}, env)
}

const header = "apiVersion: krt.dev/v1alpha1\nkind: Workflow\nmetadata: {name: w}\nspec:\n"

func TestErrorsNameLineFieldAndReason(t *testing.T) {
	cases := []struct {
		name, spec string
		line       int
		field, msg string
	}{
		{"unknown need", "  steps:\n    - {name: a, runtime: bash, run: x, needs: [nope]}\n", 6, "spec.steps[0].needs[0]", `needs "nope", which is not a step`},
		{"cycle", "  steps:\n    - name: a\n      needs: [b]\n      runtime: bash\n      run: x\n    - name: b\n      needs: [a]\n      runtime: bash\n      run: x\n", 7, "spec.steps[0].needs", "cycle: a -> b -> a"},
		{"self need", "  steps:\n    - name: a\n      needs: [a]\n      runtime: bash\n      run: x\n", 7, "spec.steps[0].needs", "cycle: a -> a"},
		{"duplicate step", "  steps:\n    - {name: a, runtime: bash, run: x}\n    - {name: a, runtime: bash, run: y}\n", 7, "spec.steps[1].name", "used twice"},
		{"no kind of step", "  steps:\n    - name: a\n", 6, "spec.steps[0]", "needs one of run, uses or approval"},
		{"two kinds of step", "  steps:\n    - name: a\n      runtime: bash\n      run: x\n      approval: {approvers: [ann]}\n", 6, "spec.steps[0]", "more than one"},
		{"runner and runtime", "  steps:\n    - name: a\n      runner: prod\n      runtime: bash\n      run: x\n", 7, "spec.steps[0].runner", "pick one"},
		{"CEL type error", "  steps:\n    - name: a\n      runtime: bash\n      run: x\n      if: \"1 + 'a' == 2\"\n", 9, "spec.steps[0].if", "no matching overload"},
		{"CEL not boolean", "  steps:\n    - name: a\n      runtime: bash\n      run: x\n      if: \"'yes'\"\n", 9, "spec.steps[0].if", "boolean"},
		{"bad template", "  steps:\n    - name: a\n      runtime: bash\n      run: echo ${{ params.x +  }}\n", 8, "spec.steps[0].run", "offset"},
		{"unknown step in expression", "  steps:\n    - name: a\n      runtime: bash\n      run: echo ${{ steps.ghost.outputs.x }}\n", 8, "spec.steps[0].run", `step "ghost", which does not exist`},
		{"reference cycle", "  steps:\n    - name: a\n      if: steps.b.status == 'success'\n      run: x\n    - name: b\n      env: {X: \"${{ steps.a.outputs.x }}\"}\n      run: x\n", 7, "spec.steps[0].if", "cycle: a -> b -> a"},
		{"reads a finally step", "  steps:\n    - name: a\n      env: {X: \"${{ steps.f.outputs.x }}\"}\n      run: x\n  finally:\n    - {name: f, run: x}\n", 7, "spec.steps[0].env.X", `reads finally step "f"`},
		{"bad cron", "  on:\n    schedule: [{cron: \"61 * * * *\"}]\n  steps:\n    - {name: a, runtime: bash, run: x}\n", 6, "spec.on.schedule[0].cron", "bad cron expression"},
		{"bad when", "  on:\n    when: \"event.\"\n  steps:\n    - {name: a, runtime: bash, run: x}\n", 6, "spec.on.when", "Syntax error"},
		{"unknown tool", "  steps:\n    - {name: a, runtime: bash, uses: ghost}\n", 6, "spec.steps[0].uses", `tool "ghost" is not defined`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			errs := check(t, map[string]string{"w.yaml": header + c.spec})
			if len(errs) != 1 {
				t.Fatalf("got %d errors, want 1: %v", len(errs), errs)
			}
			e := errs[0]
			if e.File != "w.yaml" || e.Line != c.line || e.Field != c.field || !strings.Contains(e.Message, c.msg) {
				t.Errorf("got  %s\nwant w.yaml:%d: %s: ...%s...", e, c.line, c.field, c.msg)
			}
		})
	}
}

func TestToolInputs(t *testing.T) {
	tool := "apiVersion: krt.dev/v1alpha1\nkind: Tool\nmetadata: {name: t}\nspec:\n  runtime: bash\n  script: x\n  inputs:\n    - {name: table, required: true}\n    - {name: limit, required: true, default: \"5\"}\n"
	errs := check(t, map[string]string{
		"tools.yaml": tool,
		"w.yaml":     header + "  steps:\n    - name: a\n      uses: t\n      with: {tabel: x}\n",
	})
	var msgs []string
	for _, e := range errs {
		msgs = append(msgs, e.Error())
	}
	got := strings.Join(msgs, "\n")
	for _, want := range []string{`requires input "table"`, `has no input "tabel" (it has: table, limit)`} {
		if !strings.Contains(got, want) {
			t.Errorf("errors %q lack %q", got, want)
		}
	}
	if strings.Contains(got, `"limit"`+" ") {
		t.Errorf("an input with a default was required: %s", got)
	}
}

// The shared examples validate cleanly, the seed dialect and its tools
// included.
func TestExamplesAreValid(t *testing.T) {
	dir := filepath.Join("..", "parse", "testdata", "examples")
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	files := map[string]string{}
	for _, e := range entries {
		if strings.HasSuffix(e.Name(), ".yaml") {
			data, err := os.ReadFile(filepath.Join(dir, e.Name()))
			if err != nil {
				t.Fatal(err)
			}
			files[e.Name()] = string(data)
		}
	}
	if errs := check(t, files); len(errs) > 0 {
		t.Errorf("examples have errors: %v", errs)
	}
}
