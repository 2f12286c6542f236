package validate

import (
	"strings"
	"testing"
)

// Event data never reaches a script as text, and never picks where a step
// runs: each is an error on the line that writes it, with the fix.
func TestEventDataInScriptsAndPlacement(t *testing.T) {
	cases := []struct {
		name, spec string
		line       int
		field, msg string
	}{
		{"event in a one-line script", "  steps:\n    - name: a\n      runtime: bash\n      run: echo \"${{ event.branch }}\"\n", 8, "spec.steps[0].run",
			`${{ event.branch }} puts event data into the script, where whoever sent the event could make it run as code; pass it as env instead: env: {BRANCH: "${{ event.branch }}"}, and use "$BRANCH" in the script`},
		{"event on a script's own line", "  steps:\n    - name: a\n      runtime: bash\n      run: |\n        set -e\n        git checkout ${{ event.pullRequest.headRef }}\n", 10, "spec.steps[0].run",
			`env: {HEAD_REF: "${{ event.pullRequest.headRef }}"}, and use "$HEAD_REF"`},
		{"event through a method", "  steps:\n    - name: a\n      runtime: bash\n      run: |\n        echo ${{ event.revision.substring(0, 7) }}\n", 9, "spec.steps[0].run",
			`env: {REVISION: "${{ event.revision.substring(0, 7) }}"}`},
		{"event in python", "  steps:\n    - name: a\n      runtime: py\n      language: python\n      run: print('${{ event.branch }}')\n", 9, "spec.steps[0].run",
			`read os.environ["BRANCH"] in the script`},
		{"any value in python", "  steps:\n    - name: a\n      runtime: py\n      language: python\n      run: |\n        print('${{ params.x }}')\n", 10, "spec.steps[0].run",
			`a python script cannot hold ${{ params.x }}: krt passes a script's values as environment variables, never as code, and python does not expand them; pass it as env: {X: "${{ params.x }}"}, and read os.environ["X"]`},
		{"krt's variable names", "  steps:\n    - name: a\n      runtime: bash\n      env: {KRT_EXPR_1: x}\n      run: echo ${{ run.name }}\n", 8, "spec.steps[0].env.KRT_EXPR_1",
			"names beginning with KRT_EXPR_ are krt's"},
		{"runtime from event", "  steps:\n    - name: a\n      runtime: \"${{ event.branch }}\"\n      run: x\n", 7, "spec.steps[0].runtime",
			"runtime reads event, so whoever sends the event would choose where the step runs; a step's runtime must not depend on event data"},
		{"runner from event", "  steps:\n    - name: a\n      runner: \"${{ event.branch }}-runner\"\n      run: x\n", 7, "spec.steps[0].runner",
			"runner reads event, so whoever sends the event would choose where the step runs; a step's runner must not depend on event data"},
		{"cluster from event", "  steps:\n    - name: a\n      runtime: bash\n      cluster: \"prod-${{ event.pullRequest.headRef }}\"\n      run: x\n", 8, "spec.steps[0].cluster",
			"cluster reads event"},
		{"cluster from a param defaulting to event", "  params: [{name: target, default: \"${{ event.branch }}\"}]\n  steps:\n    - name: a\n      runtime: bash\n      cluster: \"${{ params.target }}\"\n      run: x\n", 9, "spec.steps[0].cluster",
			"cluster reads params.target, whose default reads event"},
		{"runtime from forEach items of event", "  steps:\n    - name: a\n      runtime: \"${{ item }}\"\n      forEach: {items: [\"${{ event.branch }}\"]}\n      run: x\n", 7, "spec.steps[0].runtime",
			"runtime reads item, and the forEach items read event"},
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

// What stays allowed: event data through env, values of other kinds in a
// shell script (they reach it as variables), and a placement that does not
// depend on the event.
func TestEventDataThroughEnvIsValid(t *testing.T) {
	spec := `  params: [{name: v, default: "${{ event.revision.substring(0, 7) }}"}, {name: where, default: staging}]
  steps:
    - name: a
      runtime: bash
      env: {BRANCH: "${{ event.branch }}"}
      run: |
        echo "$BRANCH" "${{ params.v }}" "${{ run.name }}"
    - name: b
      needs: [a]
      runtime: "${{ params.where }}-bash"
      cluster: "${{ item }}"
      forEach: {items: [eu, "${{ params.where }}"]}
      run: echo "${{ steps.a.outputs.x }}"
    - name: c
      runtime: py
      language: python
      env: {REF: "${{ event.pullRequest.headRef }}"}
      run: import os; print(os.environ["REF"])
`
	if errs := check(t, map[string]string{"w.yaml": header + spec}); len(errs) > 0 {
		t.Errorf("errors: %v", errs)
	}
}

// The seed dialect's references become steps and params, never event,
// and go through the same checks.
func TestSeedScriptsAreChecked(t *testing.T) {
	seed := "name: s\nsteps:\n  - name: a\n    runner: bash\n    script: echo ${VAR} ${HOME:-x}\n  - name: b\n    runner: bash\n    depends_on: [a]\n    script: |\n      echo ${a.out}\n    env: {KRT_EXPR_9: x}\n"
	errs := check(t, map[string]string{"s.yaml": seed})
	if len(errs) != 1 || errs[0].Line != 11 || errs[0].Field != "steps[1].env.KRT_EXPR_9" {
		t.Fatalf("errors = %v, want one at s.yaml:11 steps[1].env.KRT_EXPR_9", errs)
	}
}
