package workflow

import (
	"context"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	krtv1 "krt.dev/krt/api/v1alpha1"
	"krt.dev/krt/workflows/expr"
)

// A script's ${{ }} reach it as environment variables, never as its text;
// event data cannot pick where a step runs.
func TestBuildRunKeepsValuesOutOfScripts(t *testing.T) {
	attack := `x";touch${IFS}/tmp/pwned;"`
	vars := expr.Vars{
		Params: map[string]any{"rt": "bash"},
		Steps:  map[string]expr.StepVars{"a": {Outputs: map[string]string{"big": strings.Repeat("y", maxEnvValue)}}},
		Event:  map[string]any{"branch": attack},
		Item:   attack,
	}
	params := []krtv1.Param{{Name: "rt", Default: ptr("${{ event.branch }}")}, {Name: "plain", Default: ptr("bash")}}
	tests := []struct {
		name       string
		step       krtv1.Step
		wantScript string
		wantEnv    []krtv1.EnvVar
		wantErr    string
	}{{
		name:       "event value in a script is a variable",
		step:       krtv1.Step{Name: "b", Runtime: "bash", Run: `echo "${{ event.branch }}"; echo ${{ event.branch }} ${{ item }}`},
		wantScript: `echo "${KRT_EXPR_1}"; echo ${KRT_EXPR_1} ${KRT_EXPR_2}`,
		wantEnv:    []krtv1.EnvVar{{Name: "KRT_EXPR_1", Value: attack}, {Name: "KRT_EXPR_2", Value: attack}},
	}, {
		name:       "script variables win over the step's env",
		step:       krtv1.Step{Name: "b", Runtime: "bash", Run: `echo ${{ params.rt }}`, Env: map[string]string{"KRT_EXPR_1": "mine", "B": "${{ event.branch }}"}},
		wantScript: `echo ${KRT_EXPR_1}`,
		wantEnv:    []krtv1.EnvVar{{Name: "B", Value: attack}, {Name: "KRT_EXPR_1", Value: "bash"}},
	}, {
		name:    "runtime from event",
		step:    krtv1.Step{Name: "b", Runtime: "${{ event.branch }}", Run: "true"},
		wantErr: "runtime reads event, so whoever sends the event would choose where the step runs",
	}, {
		name:    "cluster from a param defaulting to event",
		step:    krtv1.Step{Name: "b", Runtime: "bash", Cluster: "${{ params.rt }}", Run: "true"},
		wantErr: "cluster reads params.rt, whose default reads event",
	}, {
		name:    "cluster from forEach items of event",
		step:    krtv1.Step{Name: "b", Runtime: "bash", Cluster: "${{ item }}", Run: "true", ForEach: &krtv1.ForEach{Items: []string{"${{ event.branch }}"}}},
		wantErr: "cluster reads item, and the forEach items read event",
	}, {
		name:    "value too long for the environment",
		step:    krtv1.Step{Name: "b", Runtime: "bash", Run: `echo ${{ steps.a.outputs.big + "z" }}`},
		wantErr: "environment variable KRT_EXPR_1 is 65537 bytes once interpolated, more than the 65536",
	}}
	b := runBuilder{env: testEnv(t), vars: vars, params: params}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := b.build(context.Background(), &tc.step)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got.spec.Script != tc.wantScript {
				t.Errorf("script = %q, want %q", got.spec.Script, tc.wantScript)
			}
			if d := cmp.Diff(tc.wantEnv, got.spec.Env); d != "" {
				t.Errorf("env (-want +got):\n%s", d)
			}
		})
	}
}
