package e2e

import (
	"os"
	"path/filepath"
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
			// One file per execution: a repeat of the same attempt on the
			// same pod gets a file of its own.
			Script: `f=$(mktemp "$REC/$KRT_RUN.$KRT_ATTEMPT.$KRT_POD.XXXXXX")
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
	name       string
	start, end int64
}

// checkNoOverlap reads the Runs' own records, one file per execution, and
// fails if any two executions of one Run overlapped in time, on two pods or
// on one.
func checkNoOverlap(t *testing.T, dir string, runs int) {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	byRun := map[string][]execRecord{}
	for _, e := range entries {
		parts := strings.SplitN(e.Name(), ".", 4) // run.attempt.pod.unique
		lines := strings.Fields(readFile(t, filepath.Join(dir, e.Name())))
		if len(parts) != 4 || len(lines) != 2 {
			t.Fatalf("execution record %s: %q is incomplete", e.Name(), lines)
		}
		start, err1 := strconv.ParseInt(lines[0], 10, 64)
		end, err2 := strconv.ParseInt(lines[1], 10, 64)
		if err1 != nil || err2 != nil || end < start {
			t.Fatalf("execution record %s: %q is not a start and an end", e.Name(), lines)
		}
		byRun[parts[0]] = append(byRun[parts[0]], execRecord{name: e.Name(), start: start, end: end})
	}
	if len(byRun) != runs {
		t.Fatalf("%d Runs left execution records, want %d", len(byRun), runs)
	}
	twice, overlaps := 0, 0
	for run, recs := range byRun {
		if len(recs) > 1 {
			twice++
		}
		for i, a := range recs {
			for _, b := range recs[i+1:] {
				if a.start < b.end && b.start < a.end {
					if overlaps++; overlaps <= 5 {
						t.Errorf("run %s: executions %s and %s overlapped", run, a.name, b.name)
					}
				}
			}
		}
	}
	if overlaps > 0 {
		t.Fatalf("%d pairs of executions of one Run overlapped; %d of %d Runs executed more than once", overlaps, twice, runs)
	}
	t.Logf("%d Runs, %d of them executed more than once, never two executions of one Run at once", runs, twice)
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}
