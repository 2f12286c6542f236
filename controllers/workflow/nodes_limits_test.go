package workflow

import (
	"context"
	"fmt"
	"strings"
	"testing"

	krtv1 "krt.dev/krt/api/v1alpha1"
	"krt.dev/krt/workflows/expr"
)

// axes is a matrix of n axes of m values each.
func axes(n, m int) map[string][]string {
	out := map[string][]string{}
	for i := range n {
		for j := range m {
			out[fmt.Sprintf("k%d", i)] = append(out[fmt.Sprintf("k%d", i)], fmt.Sprint(j))
		}
	}
	return out
}

// A step too large for the run is refused before any node is built: an
// 8×16 matrix is four billion combinations, which building would take
// the controller's memory with it.
func TestExpandRefusesBeforeBuilding(t *testing.T) {
	env := testEnv(t)
	tests := []struct {
		name    string
		step    krtv1.Step
		max     int
		wantErr string
	}{
		{"8×16 matrix", krtv1.Step{Name: "a", Matrix: axes(8, 16)}, krtv1.MaxNodes - 1,
			"the matrix (16 × 16 × 16 × 16 × 16 × 16 × 16 × 16 values): expands to 4294967296 nodes, more than the 3999 a run may still hold (at most 4000 in all)"},
		{"1000×1000 matrix", krtv1.Step{Name: "a", Matrix: axes(2, 1000)}, krtv1.MaxNodes - 1,
			"expands to 1000000 nodes, more than the 3999"},
		{"product past 2^64", krtv1.Step{Name: "a", Matrix: axes(8, 1<<9)}, krtv1.MaxNodes - 1,
			"expands to more than 18446744073709551615 nodes"},
		{"matrix over the room left", krtv1.Step{Name: "a", Matrix: axes(1, 10)}, 9, "expands to 10 nodes, more than the 9 a run may still hold"},
		{"forEach over the room left", krtv1.Step{Name: "a", ForEach: &krtv1.ForEach{Items: []string{"a", "b", "c"}}}, 2,
			"expands to 3 nodes, more than the 2 a run may still hold"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			items, err := expand(context.Background(), env, expr.Vars{}, &tc.step, tc.max)
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("expand = %d items, err %v; want %q", len(items), err, tc.wantErr)
			}
		})
	}
	t.Run("exactly the room left", func(t *testing.T) {
		items, err := expand(context.Background(), env, expr.Vars{}, &krtv1.Step{Name: "a", Matrix: axes(2, 3)}, 9)
		if err != nil || len(items) != 9 {
			t.Fatalf("expand = %d items, err %v; want 9", len(items), err)
		}
	})
}
