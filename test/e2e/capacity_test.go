package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"

	krtv1 "krt.dev/krt/api/v1alpha1"
)

// TestCapacityIsNeverExceeded proves from the Runs' own records, not from
// status, that 2 pods of capacity 3 never run more than 6 at once.
func TestCapacityIsNeverExceeded(t *testing.T) {
	ns := setupRuntime(t, "cap", 2, 3)
	records := t.TempDir()
	const n = 20
	runs := make([]*krtv1.Run, n)
	for i := range runs {
		runs[i] = newRun(t, ns, krtv1.RunSpec{Runtime: "cap",
			Script: `date +%s%N > "$REC/$ID.start"; sleep 0.5; date +%s%N > "$REC/$ID.end"`,
			Env:    []krtv1.EnvVar{{Name: "REC", Value: records}, {Name: "ID", Value: strconv.Itoa(i)}}})
	}
	for _, run := range runs {
		if done := waitDone(t, run); done.Status.Phase != krtv1.RunSucceeded {
			t.Fatalf("run %s: %s (%s)", run.Name, done.Status.Phase, done.Status.Message)
		}
	}
	peak := peakConcurrency(t, records, n)
	t.Logf("peak concurrency %d of 6", peak)
	if peak > 6 {
		t.Fatalf("%d Runs executed at once; capacity is 6", peak)
	}
	// And the capacity was used: Runs did run side by side on both pods.
	if peak < 4 {
		t.Fatalf("at most %d Runs executed at once; the pool has 6 slots", peak)
	}
}

func peakConcurrency(t *testing.T, dir string, n int) int {
	type edge struct {
		at    int64
		delta int
	}
	var edges []edge
	for i := range n {
		for suffix, delta := range map[string]int{"start": 1, "end": -1} {
			data, err := os.ReadFile(filepath.Join(dir, fmt.Sprintf("%d.%s", i, suffix)))
			if err != nil {
				t.Fatalf("run %d left no %s record: %v", i, suffix, err)
			}
			at, err := strconv.ParseInt(strings.TrimSpace(string(data)), 10, 64)
			if err != nil {
				t.Fatal(err)
			}
			edges = append(edges, edge{at, delta})
		}
	}
	// Ends sort before starts at the same instant: a slot handed on is not
	// an overlap.
	sort.Slice(edges, func(i, j int) bool {
		if edges[i].at != edges[j].at {
			return edges[i].at < edges[j].at
		}
		return edges[i].delta < edges[j].delta
	})
	cur, peak := 0, 0
	for _, e := range edges {
		cur += e.delta
		peak = max(peak, cur)
	}
	return peak
}
