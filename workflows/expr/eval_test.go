package expr

import (
	"context"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func testVars() Vars {
	return Vars{
		Params: map[string]any{"env": "prod", "replicas": "3"},
		Steps: map[string]StepVars{
			"smoke":          {Outputs: map[string]string{"result": "passed"}, Phase: "Succeeded", Status: "success"},
			"deploy-staging": {Outputs: map[string]string{"url": "https://staging.example.com"}, Phase: "Succeeded", Status: "success"},
			"lint":           {Phase: "Skipped", Status: "skipped"},
		},
		Event: map[string]any{
			"revision": "0123456789abcdef",
			"branch":   "main",
			"pullRequest": map[string]any{
				"number":  int64(42),
				"draft":   false,
				"headSHA": "feedface",
			},
		},
		Item: map[string]any{"os": "linux", "arch": "amd64"},
		Run:  map[string]any{"name": "build-x7", "phase": "Running", "workflow": "build"},
	}
}

func TestEval(t *testing.T) {
	e := mustEnv(t)
	tests := []struct {
		name    string
		src     string
		vars    *Vars // nil means testVars()
		want    any
		wantErr string
	}{
		{"param", `params.env`, nil, "prod", ""},
		{"param conversion", `int(params.replicas) + 1`, nil, int64(4), ""},
		{"step output", `steps.smoke.outputs.result`, nil, "passed", ""},
		{"quoted step", `steps['deploy-staging'].outputs.url`, nil, "https://staging.example.com", ""},
		{"double quoted step", `steps["deploy-staging"].phase`, nil, "Succeeded", ""},
		{"step status", `steps.lint.status`, nil, "skipped", ""},
		{"event substring", `event.revision.substring(0, 7)`, nil, "0123456", ""},
		{"event nested", `event.pullRequest.number`, nil, int64(42), ""},
		{"event bool", `!event.pullRequest.draft`, nil, true, ""},
		{"item map", `item.os + "/" + item.arch`, nil, "linux/amd64", ""},
		{"item string", `item.upperAscii()`, &Vars{Item: "abc"}, "ABC", ""},
		{"run", `run.workflow`, nil, "build", ""},
		{"double", `1.5 * 2.0`, nil, 3.0, ""},
		{"null", `null`, nil, nil, ""},
		{"list", `[1, "a", true]`, nil, []any{int64(1), "a", true}, ""},
		{"map", `{"a": [1], "b": {"c": "d"}}`, nil, map[string]any{"a": []any{int64(1)}, "b": map[string]any{"c": "d"}}, ""},
		{"list of outputs", `[steps.smoke.outputs.result]`, nil, []any{"passed"}, ""},
		{"missing output", `steps.lint.outputs.url`, nil, nil, "no such key: url"},
		{"missing step", `steps.nope.outputs.url`, nil, nil, "no such key: nope"},
		{"missing param", `params.region`, nil, nil, "no such key: region"},
		{"nil vars", `params.env`, &Vars{}, nil, "no such key: env"},
		{"item outside loop", `item`, &Vars{}, nil, "item"},
		{"runtime error", `int(params.env)`, nil, nil, "type conversion error"},
		{"check error", `1 + "a"`, nil, nil, "no matching overload"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			v := testVars()
			if tc.vars != nil {
				v = *tc.vars
			}
			got, err := e.Eval(context.Background(), tc.src, v)
			checkErr(t, err, tc.wantErr)
			if tc.wantErr != "" {
				return
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("Eval(%q) mismatch (-want +got):\n%s", tc.src, diff)
			}
		})
	}
}

func TestEvalBool(t *testing.T) {
	e := mustEnv(t)
	tests := []struct {
		name    string
		src     string
		want    bool
		wantErr string
	}{
		{"output equality", `steps.smoke.outputs.result == 'passed'`, true, ""},
		{"draft", `!event.pullRequest.draft`, true, ""},
		{"dyn bool", `event.pullRequest.draft`, false, ""},
		{"all succeeded", `["smoke", "deploy-staging"].all(s, steps[s].phase == "Succeeded")`, true, ""},
		{"branch", `event.branch.startsWith("release/")`, false, ""},
		{"static non-bool", `1 + 1`, false, "expression must be a boolean, got int"},
		{"dynamic non-bool", `event.branch`, false, "expression must be a boolean, got string"},
		{"dynamic non-bool int", `event.pullRequest.number`, false, "expression must be a boolean, got int"},
		{"missing key", `steps.smoke.outputs.nope == "x"`, false, "no such key: nope"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := e.EvalBool(context.Background(), tc.src, testVars())
			checkErr(t, err, tc.wantErr)
			if got != tc.want {
				t.Errorf("EvalBool(%q) = %v, want %v", tc.src, got, tc.want)
			}
		})
	}
}

// A value that looks like CEL must come back as data, never be evaluated.
func TestValuesAreNotSpliced(t *testing.T) {
	e := mustEnv(t)
	v := Vars{Params: map[string]any{"x": `${{ params.y }}`, "y": "secret"}}
	got, err := e.Interpolate(context.Background(), `[${{ params.x }}]`, v)
	if err != nil {
		t.Fatal(err)
	}
	if want := `[${{ params.y }}]`; got != want {
		t.Errorf("Interpolate = %q, want %q", got, want)
	}
}
