package workflow

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	krtv1 "krt.dev/krt/api/v1alpha1"
	"krt.dev/krt/workflows/expr"
)

func ptr[T any](v T) *T { return &v }

func testEnv(t *testing.T, opts ...expr.Option) *expr.Env {
	t.Helper()
	env, err := expr.NewEnv(opts...)
	if err != nil {
		t.Fatal(err)
	}
	return env
}

var testTools = []krtv1.NamedTool{
	{Name: "row-counter", Spec: krtv1.ToolSpec{
		Inputs:    []krtv1.ToolInput{{Name: "table", Required: true}, {Name: "limit", Default: ptr("10")}},
		Script:    "echo ${TABLE}",
		SecretEnv: []krtv1.SecretEnvVar{{Name: "TOKEN", SecretKeyRef: krtv1.SecretKeySelector{Name: "tool", Key: "t"}}},
		Runtime:   "bash",
	}},
	{Name: "check", Spec: krtv1.ToolSpec{Language: "python", Script: "print(1)"}},
	{Name: "curl", Spec: krtv1.ToolSpec{Language: "exec", Command: []string{"curl"}, Args: []string{"-s"}}},
}

func TestBuildRun(t *testing.T) {
	vars := expr.Vars{
		Params: map[string]any{"env": "prod"},
		Steps:  map[string]expr.StepVars{"a": {Outputs: map[string]string{"x": "42"}, Phase: "Succeeded", Status: "success"}},
		Item:   "eu",
	}
	secs := 5 * time.Second
	tests := []struct {
		name    string
		step    krtv1.Step
		want    built
		wantErr string
	}{{
		name: "script with outputs, item and retries",
		step: krtv1.Step{Name: "b", Runtime: "bash", Cluster: "prod-${{ item }}", Run: "echo ${{ steps.a.outputs.x }}",
			Env:     map[string]string{"X": "${{ steps.a.outputs.x }}", "ENV": "${{ params.env }}"},
			Timeout: &metav1.Duration{Duration: secs}, Retries: &krtv1.StepRetries{Limit: 2, Backoff: &metav1.Duration{Duration: secs}}},
		want: built{cluster: "prod-eu", spec: krtv1.RunSpec{Runtime: "bash", Script: "echo ${KRT_EXPR_1}",
			Env:         []krtv1.EnvVar{{Name: "ENV", Value: "prod"}, {Name: "KRT_EXPR_1", Value: "42"}, {Name: "X", Value: "42"}},
			Timeout:     &metav1.Duration{Duration: secs},
			RetryPolicy: &krtv1.RetryPolicy{MaxAttempts: 3, Backoff: &metav1.Duration{Duration: secs}}}},
	}, {
		name: "cluster/runtime splits",
		step: krtv1.Step{Name: "b", Runtime: "staging/python", Run: "print(1)", Language: krtv1.LanguagePython},
		want: built{cluster: "staging", spec: krtv1.RunSpec{Runtime: "python", Script: "print(1)", Language: krtv1.LanguagePython}},
	}, {
		name: "tool inputs upper-cased with defaults, secrets merged",
		step: krtv1.Step{Name: "c", Uses: "row-counter", With: map[string]string{"table": "orders-${{ steps.a.outputs.x }}", "extra-one": "y"},
			Env:       map[string]string{"LIMIT": "99"},
			SecretEnv: []krtv1.SecretEnvVar{{Name: "TOKEN", SecretKeyRef: krtv1.SecretKeySelector{Name: "step", Key: "t"}}}},
		want: built{spec: krtv1.RunSpec{Runtime: "bash", Script: "echo ${TABLE}", Language: krtv1.LanguageBash,
			Env:       []krtv1.EnvVar{{Name: "EXTRA_ONE", Value: "y"}, {Name: "LIMIT", Value: "99"}, {Name: "TABLE", Value: "orders-42"}},
			SecretEnv: []krtv1.SecretEnvVar{{Name: "TOKEN", SecretKeyRef: krtv1.SecretKeySelector{Name: "step", Key: "t"}}}}},
	}, {
		name: "python tool, step runtime wins",
		step: krtv1.Step{Name: "c", Uses: "check", Runtime: "py"},
		want: built{spec: krtv1.RunSpec{Runtime: "py", Script: "print(1)", Language: krtv1.LanguagePython}},
	}, {
		name: "exec tool",
		step: krtv1.Step{Name: "c", Uses: "curl", Runtime: "tools"},
		want: built{spec: krtv1.RunSpec{Runtime: "tools", Command: []string{"curl"}, Args: []string{"-s"}}},
	}, {
		name:    "required input missing",
		step:    krtv1.Step{Name: "c", Uses: "row-counter"},
		wantErr: "tool row-counter needs input table",
	}, {
		name:    "unknown tool",
		step:    krtv1.Step{Name: "c", Uses: "nope", Runtime: "bash"},
		wantErr: "tool nope is not among the run's tools",
	}, {
		name:    "no runtime",
		step:    krtv1.Step{Name: "c", Run: "true"},
		wantErr: "the step names no runtime",
	}, {
		name:    "nothing to run",
		step:    krtv1.Step{Name: "c", Runtime: "bash"},
		wantErr: "neither run nor uses",
	}, {
		name:    "bad reference",
		step:    krtv1.Step{Name: "c", Runtime: "bash", Run: "${{ steps.zz.outputs.x }}"},
		wantErr: "run: in ${{ steps.zz.outputs.x }}",
	}}
	b := runBuilder{env: testEnv(t), vars: vars, tools: testTools}
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
			if d := cmp.Diff(tc.want, got, cmp.AllowUnexported(built{})); d != "" {
				t.Errorf("built (-want +got):\n%s", d)
			}
		})
	}
}

func TestExpand(t *testing.T) {
	env := testEnv(t)
	vars := expr.Vars{Params: map[string]any{"r": "us"}}
	tests := []struct {
		name string
		step krtv1.Step
		want []string
	}{
		{"single", krtv1.Step{Name: "a"}, []string{""}},
		{"forEach interpolated and deduplicated", krtv1.Step{Name: "a", ForEach: &krtv1.ForEach{Items: []string{"eu", "${{ params.r }}", "us"}}}, []string{"eu", "us"}},
		{"matrix", krtv1.Step{Name: "a", Matrix: map[string][]string{"os": {"linux", "mac"}, "v": {"1"}}}, []string{"os=linux,v=1", "os=mac,v=1"}},
		{"long item hashed", krtv1.Step{Name: "a", ForEach: &krtv1.ForEach{Items: []string{strings.Repeat("x", 500)}}}, []string{strings.Repeat("x", 391) + "~"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			items, err := expand(context.Background(), env, vars, &tc.step, krtv1.MaxNodes)
			if err != nil {
				t.Fatal(err)
			}
			if len(items) != len(tc.want) {
				t.Fatalf("items = %v, want %v", items, tc.want)
			}
			for i, it := range items {
				if !strings.HasPrefix(it.Key, tc.want[i]) || len(it.Key) > maxKey {
					t.Errorf("item %d key = %q, want %q", i, it.Key, tc.want[i])
				}
			}
		})
	}
}
