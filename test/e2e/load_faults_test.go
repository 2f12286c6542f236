package e2e

import (
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	krtv1 "krt.dev/krt/api/v1alpha1"
)

// TestControllerRestartUnderLoadLosesNothing kills krt-controller while 200
// Runs are in flight and starts it again. Every Run must end, and the
// executions' own records must show that no Run ran on two pods at once.
func TestControllerRestartUnderLoadLosesNothing(t *testing.T) {
	ns := setupRuntime(t, "load", 2, 8)
	rec := t.TempDir()
	const n = 200
	runs := make([]*krtv1.Run, n)
	for i := range runs {
		runs[i] = newRun(t, ns, krtv1.RunSpec{Runtime: "load",
			RetryPolicy: &krtv1.RetryPolicy{MaxAttempts: 3, Backoff: &metav1.Duration{Duration: 100 * time.Millisecond}},
			Script: `f="$REC/$KRT_RUN.$KRT_ATTEMPT.$KRT_POD"
date +%s%N > "$f"; sleep 0.1; date +%s%N >> "$f"`,
			Env: []krtv1.EnvVar{{Name: "REC", Value: rec}}})
		if i == n/4 {
			stack.Controller.Kill()
		}
	}
	if err := stack.StartController("--claim-timeout", "10s"); err != nil {
		t.Fatal(err)
	}
	for _, run := range runs {
		if done := waitDone(t, run); done.Status.Phase != krtv1.RunSucceeded {
			t.Fatalf("run %s: %s (%s)", run.Name, done.Status.Phase, done.Status.Message)
		}
	}
	checkNoOverlap(t, rec, n)
}

type execRecord struct {
	pod        string
	start, end int64
}

// checkNoOverlap reads the Runs' own records, one file per execution, and
// fails if two executions of one Run on different pods overlapped in time.
func checkNoOverlap(t *testing.T, dir string, runs int) {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	byRun := map[string][]execRecord{}
	for _, e := range entries {
		parts := strings.SplitN(e.Name(), ".", 3) // run.attempt.pod
		lines := strings.Fields(readFile(t, filepath.Join(dir, e.Name())))
		if len(parts) != 3 || len(lines) != 2 {
			t.Fatalf("execution record %s: %q is incomplete", e.Name(), lines)
		}
		start, _ := strconv.ParseInt(lines[0], 10, 64)
		end, _ := strconv.ParseInt(lines[1], 10, 64)
		byRun[parts[0]] = append(byRun[parts[0]], execRecord{pod: parts[2], start: start, end: end})
	}
	if len(byRun) != runs {
		t.Fatalf("%d Runs left execution records, want %d", len(byRun), runs)
	}
	twice := 0
	for run, recs := range byRun {
		sort.Slice(recs, func(i, j int) bool { return recs[i].start < recs[j].start })
		for i := 1; i < len(recs); i++ {
			twice++
			if recs[i].start < recs[i-1].end && recs[i].pod != recs[i-1].pod {
				t.Errorf("run %s executed on %s and %s at once", run, recs[i-1].pod, recs[i].pod)
			}
		}
	}
	t.Logf("%d Runs, %d of them executed more than once, none on two pods at once", runs, twice)
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}
