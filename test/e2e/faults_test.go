package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	krtv1 "krt.dev/krt/api/v1alpha1"
)

// quickRetry allows a second attempt after a short backoff.
var quickRetry = &krtv1.RetryPolicy{MaxAttempts: 2, Backoff: &metav1.Duration{Duration: 100 * time.Millisecond}}

func TestKilledRuntimedRunRetriesOnAnotherPod(t *testing.T) {
	ns := setupRuntime(t, "fault", 2, 2)
	run := newRun(t, ns, krtv1.RunSpec{Runtime: "fault", RetryPolicy: quickRetry,
		Script: `[ "$KRT_ATTEMPT" = 1 ] && sleep 30; echo "done on $KRT_POD"`})
	first := waitPhase(t, run, krtv1.RunRunning)
	if err := pool.KillRuntimed(ns, first.Status.AssignedPod); err != nil {
		t.Fatal(err)
	}
	killed := time.Now()
	retried := waitRun(t, run, time.Minute, "be retried", func(r *krtv1.Run) bool { return r.Status.Attempt == 2 })
	t.Logf("kill -9 to retry: %s (lease duration 3s); reason %s: %s", time.Since(killed).Round(time.Millisecond),
		retried.Status.Reason, retried.Status.Message)
	done := waitDone(t, run)
	if done.Status.Phase != krtv1.RunSucceeded || done.Status.Attempt != 2 {
		t.Fatalf("phase/attempt = %s/%d (%s), want Succeeded as attempt 2", done.Status.Phase, done.Status.Attempt, done.Status.Message)
	}
	if done.Status.AssignedPod == first.Status.AssignedPod {
		t.Fatalf("attempt 2 ran on the pod whose runtimed was killed")
	}
	if retried.Status.Reason != "HeartbeatLost" {
		t.Errorf("reason = %q, want HeartbeatLost", retried.Status.Reason)
	}
}

// TestRestartedRuntimedAdoptsItsRuns restarts runtimed while a Run runs,
// claimed (Running) and before its claim (Scheduled, within --claim-after,
// 2s here). Either way the new runtimed must attach to the execution the
// Runtime Server still has, not start the script again, and write its
// result as the same attempt.
func TestRestartedRuntimedAdoptsItsRuns(t *testing.T) {
	ns := setupRuntime(t, "adopt", 1, 2)
	for _, claimed := range []bool{true, false} {
		t.Run(map[bool]string{true: "claimed", false: "before the claim"}[claimed], func(t *testing.T) {
			dir := t.TempDir()
			gate, ledger := dir+"/go-on", dir+"/started"
			run := newRun(t, ns, krtv1.RunSpec{Runtime: "adopt",
				Script: "echo started >> \"$LEDGER\"\necho before the restart\nwhile [ ! -e \"$GATE\" ]; do sleep 0.05; done\necho after the restart",
				Env:    []krtv1.EnvVar{{Name: "GATE", Value: gate}, {Name: "LEDGER", Value: ledger}}})
			if claimed {
				waitPhase(t, run, krtv1.RunRunning)
			}
			eventually(t, time.Minute, "the script to start", func() bool { return ledgerLines(ledger) == 1 })
			running := waitRun(t, run, time.Minute, "be assigned", func(r *krtv1.Run) bool { return r.Status.AssignedPod != "" })
			if !claimed && running.Status.Phase != krtv1.RunScheduled {
				t.Fatalf("the Run is %s at the restart: it must still run unclaimed for this case (--claim-after 2s)", running.Status.Phase)
			}
			if err := pool.RestartRuntimed(ns, running.Status.AssignedPod); err != nil {
				t.Fatal(err)
			}
			if err := exec.Command("touch", gate).Run(); err != nil {
				t.Fatal(err)
			}
			done := waitDone(t, run)
			if done.Status.Phase != krtv1.RunSucceeded || done.Status.Attempt != 1 || done.Status.AssignedPod != running.Status.AssignedPod {
				t.Fatalf("phase/attempt/pod = %s/%d/%s (%s), want Succeeded as attempt 1 on the same pod",
					done.Status.Phase, done.Status.Attempt, done.Status.AssignedPod, done.Status.Message)
			}
			if n := ledgerLines(ledger); n != 1 {
				t.Fatalf("the script started %d times, want once: the restarted runtimed must attach, not run it again", n)
			}
			stdout, _, _ := krt(t, "logs", "-n", ns, run.Name)
			if !strings.Contains(stdout, "before the restart") || !strings.Contains(stdout, "after the restart") {
				t.Fatalf("krt logs after the restart = %q, want both lines", stdout)
			}
		})
	}
}

// ledgerLines counts the lines of a file that a script appends to.
func ledgerLines(path string) int {
	data, _ := os.ReadFile(path)
	return strings.Count(string(data), "\n")
}

func TestFailedAttemptsRetryInACleanWorkingDirectory(t *testing.T) {
	ns := setupRuntime(t, "retry", 1, 2)
	cases := []struct {
		lang   krtv1.Language
		script string
	}{
		{krtv1.LanguageBash, `ls -A > "$REC/$KRT_ATTEMPT"; echo scratch > left-behind; exit 1`},
		{krtv1.LanguagePython, "import os, sys\n" +
			"open(os.path.join(os.environ['REC'], os.environ['KRT_ATTEMPT']), 'w').write('\\n'.join(os.listdir('.')))\n" +
			"open('left-behind', 'w').write('scratch')\nsys.exit(1)\n"},
	}
	for _, tc := range cases {
		t.Run(string(tc.lang), func(t *testing.T) {
			rec := t.TempDir()
			run := waitDone(t, newRun(t, ns, krtv1.RunSpec{Runtime: "retry", Language: tc.lang, Script: tc.script,
				Env:         []krtv1.EnvVar{{Name: "REC", Value: rec}},
				RetryPolicy: &krtv1.RetryPolicy{MaxAttempts: 3, Backoff: &metav1.Duration{Duration: 50 * time.Millisecond}}}))
			if run.Status.Phase != krtv1.RunFailed || run.Status.Attempt != 3 {
				t.Fatalf("phase/attempt = %s/%d, want Failed after 3 attempts", run.Status.Phase, run.Status.Attempt)
			}
			for attempt := 1; attempt <= 3; attempt++ {
				seen := readFile(t, fmt.Sprintf("%s/%d", rec, attempt))
				if strings.TrimSpace(seen) != "" {
					t.Errorf("attempt %d found %q in its working directory, want it empty", attempt, seen)
				}
			}
		})
	}
}
