package expr

import (
	"context"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// A script's ${{ }} never become its text: whatever a value holds, the
// script holds only a reference to the variable that carries it.
func TestInterpolateScript(t *testing.T) {
	attack := `x";touch${IFS}/tmp/pwned;"`
	v := Vars{
		Params: map[string]any{"n": "3"},
		Event:  map[string]any{"branch": attack, "pullRequest": map[string]any{"headRef": "$(id)", "number": int64(7)}},
		Steps:  map[string]StepVars{"a": {Outputs: map[string]string{"x": "`reboot`"}}},
	}
	tests := []struct {
		name     string
		script   string
		want     string
		wantVars []ScriptVar
		wantErr  string
	}{
		{"no template", `echo "$HOME"`, `echo "$HOME"`, nil, ""},
		{"event value", `echo "${{ event.branch }}"`, `echo "${KRT_EXPR_1}"`, []ScriptVar{{"KRT_EXPR_1", attack}}, ""},
		{"one variable per expression", "A=${{ event.branch }}\nB=${{event.branch}}\nC=${{ event.pullRequest.headRef }}",
			"A=${KRT_EXPR_1}\nB=${KRT_EXPR_1}\nC=${KRT_EXPR_2}", []ScriptVar{{"KRT_EXPR_1", attack}, {"KRT_EXPR_2", "$(id)"}}, ""},
		{"step output and param", `echo ${{ steps.a.outputs.x }} ${{ int(params.n) + 1 }}`, `echo ${KRT_EXPR_1} ${KRT_EXPR_2}`,
			[]ScriptVar{{"KRT_EXPR_1", "`reboot`"}, {"KRT_EXPR_2", "4"}}, ""},
		{"number formatted", `exit ${{ event.pullRequest.number }}`, `exit ${KRT_EXPR_1}`, []ScriptVar{{"KRT_EXPR_1", "7"}}, ""},
		{"error names the expression", `echo ${{ steps.zz.outputs.x }}`, "", nil, "in ${{ steps.zz.outputs.x }} at offset 5"},
		{"unclosed", `echo ${{ event.branch`, "", nil, "unclosed ${{ at offset 5"},
	}
	e := mustEnv(t)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, vars, err := e.InterpolateScript(context.Background(), tc.script, v)
			checkErr(t, err, tc.wantErr)
			if tc.wantErr != "" {
				return
			}
			if got != tc.want {
				t.Errorf("script = %q, want %q", got, tc.want)
			}
			if d := cmp.Diff(tc.wantVars, vars); d != "" {
				t.Errorf("vars (-want +got):\n%s", d)
			}
		})
	}
}

func TestRootsAndParamRefs(t *testing.T) {
	tests := []struct {
		s          string
		roots      []string
		paramNames []string
	}{
		{`event.branch`, []string{"event"}, nil},
		{`${{ event.pullRequest.headRef }}-x`, []string{"event"}, nil},
		{`prefix ${{ params.a }} ${{ params["b-c"] + item }}`, []string{"item", "params"}, []string{"a", "b-c"}},
		{`${{ run.name }} event.branch outside`, []string{"run"}, nil},
		{`${{ [1].map(x, x) }}`, nil, nil},
		{`${{ [1].map(event, event) }}`, []string{"event"}, nil},
		{`${{ has(event.pullRequest) ? 'a' : 'b' }}`, []string{"event"}, nil},
		{`${{ event.branch + (`, []string{"event"}, nil},
		{`myevent.a + steps.event`, []string{"steps"}, nil},
	}
	for _, tc := range tests {
		if d := cmp.Diff(tc.roots, Roots(tc.s)); d != "" {
			t.Errorf("Roots(%q) (-want +got):\n%s", tc.s, d)
		}
		if d := cmp.Diff(tc.paramNames, ParamRefs(tc.s)); d != "" {
			t.Errorf("ParamRefs(%q) (-want +got):\n%s", tc.s, d)
		}
	}
}

func TestTemplateExprs(t *testing.T) {
	got, err := TemplateExprs("a\n${{ event.branch }} ${{params.x}}")
	if err != nil {
		t.Fatal(err)
	}
	want := []TemplateExpr{{Source: "event.branch", Offset: 2}, {Source: "params.x", Offset: 22}}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("TemplateExprs (-want +got):\n%s", d)
	}
}
