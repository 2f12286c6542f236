package main

import (
	"strings"
	"testing"
)

// Goal 1's API server ratio is judged on the bare writes made at krt's
// rate when the run has them, and on the flat-out ones only when not; the
// other baseline is printed beside it either way.
func TestAPIServerGoalBaseline(t *testing.T) {
	for _, tc := range []struct {
		name       string
		paced      float64
		wantValue  float64
		wantName   string
		wantBeside string
	}{
		{"paced writes judge", 14, 0.9, "at krt's Runs/s", "flat out 8.00 ms (÷ 1.57)"},
		{"flat out without them", 0, 1.58, "bare writes", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := results{"cpu_ms_per_run_writes_paced": map[string]float64{"kube-apiserver": tc.paced}}
			g, ok := apiServerGoal(r, 12.6, 8)
			if !ok || g.Value != tc.wantValue || !strings.HasSuffix(g.Name, tc.wantName) || !strings.Contains(g.Baseline, tc.wantBeside) {
				t.Fatalf("goal = %+v, %v; want %.2f, a name ending %q, %q beside it", g, ok, tc.wantValue, tc.wantName, tc.wantBeside)
			}
		})
	}
	if _, ok := apiServerGoal(results{}, 12.6, 0); ok {
		t.Error("judged with no baseline at all")
	}
}
