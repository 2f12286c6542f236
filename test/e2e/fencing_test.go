package e2e

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	krtv1 "krt.dev/krt/api/v1alpha1"
)

// Attempt 1 of each Run writes its ledger, $LEDGER/$NAME: "started", then
// "stopped" if it is made to stop (SIGTERM), or "ended" if it runs to its
// end. "loop" runs until it is stopped; "late" ends when $GATE exists.
// Attempt 2 just succeeds.
const (
	fencedLoop = `if [ "$KRT_ATTEMPT" = 1 ]; then
  trap 'echo stopped >> "$LEDGER/$NAME"; exit 143' TERM
  echo started >> "$LEDGER/$NAME"
  while :; do sleep 0.05 || true; done
fi
echo "attempt $KRT_ATTEMPT on $KRT_POD"`
	fencedLate = `if [ "$KRT_ATTEMPT" = 1 ]; then
  echo started >> "$LEDGER/$NAME"
  while [ ! -e "$GATE" ]; do sleep 0.05; done
  echo ended >> "$LEDGER/$NAME"
  echo "attempt 1 ended late"
  exit 3
fi
echo "attempt $KRT_ATTEMPT on $KRT_POD"`
)

// TestFencedRuntimedStopsItsExecutionAndWritesNothing stalls a runtimed
// (SIGSTOP) while it executes two Runs, so that the reaper gives both to
// another pod, and lets it go on once attempt 2 has succeeded there. The
// stalled runtimed is then the late writer: it must stop the execution
// that still runs, and the result of the one that ended meanwhile must not
// land. Which the resumed runtimed reads first, the Run's move (then it
// drops the result unwritten) or the result (then its write is fenced), is
// a race; either way nothing may land. It does so twice: with the Runs
// claimed (Running), and stalled before their claim, while they run
// Scheduled within --claim-after (2s here), where the resumed runtimed's
// late claim must be refused as well.
func TestFencedRuntimedStopsItsExecutionAndWritesNothing(t *testing.T) {
	for _, claimed := range []bool{true, false} {
		t.Run(map[bool]string{true: "claimed", false: "before the claim"}[claimed], func(t *testing.T) {
			fencedRuntimed(t, claimed)
		})
	}
}

func fencedRuntimed(t *testing.T, claimed bool) {
	ns := setupRuntime(t, "fence", 1, 2)
	ledger := t.TempDir()
	gate := filepath.Join(ledger, "gate")
	marker := fmt.Sprintf("fence-%d", time.Now().UnixNano())
	start := func(name, script string) *krtv1.Run {
		return newRun(t, ns, krtv1.RunSpec{Runtime: "fence", RetryPolicy: quickRetry, Script: script,
			Env: []krtv1.EnvVar{{Name: "LEDGER", Value: ledger}, {Name: "NAME", Value: name}, {Name: "GATE", Value: gate},
				{Name: "KRT_TEST_MARKER", Value: marker + "-" + name}}})
	}
	loop, late := start("loop", fencedLoop), start("late", fencedLate)
	// Should the test fail, the Runs must not go on for ever: deleting them
	// fences them on every pod.
	t.Cleanup(func() {
		for _, r := range []*krtv1.Run{loop, late} {
			_ = env.Client.Delete(context.Background(), r)
		}
	})
	if claimed {
		waitPhase(t, loop, krtv1.RunRunning)
		waitPhase(t, late, krtv1.RunRunning)
	}
	eventually(t, time.Minute, "both attempts to start", func() bool {
		return ledgerSays(ledger, "loop", "started") && ledgerSays(ledger, "late", "started")
	})
	old := podsOf(ns, "fence")[0] // the only pod yet
	oldPod := old.Name
	if !claimed {
		stall(t, ns, oldPod)
		for _, r := range []*krtv1.Run{loop, late} {
			got := &krtv1.Run{}
			if err := env.Client.Get(context.Background(), client.ObjectKeyFromObject(r), got); err != nil {
				t.Fatal(err)
			}
			if got.Status.Phase != krtv1.RunScheduled {
				t.Fatalf("%s is %s at the stall: it must still run unclaimed for this case (--claim-after 2s)", r.Name, got.Status.Phase)
			}
		}
	}

	// A second pod to take the Runs over, then the stall.
	rt := &krtv1.Runtime{ObjectMeta: objectMeta(ns, "fence")}
	if err := env.Client.Patch(context.Background(), rt, client.RawPatch(types.MergePatchType, []byte(`{"spec":{"replicas":2}}`))); err != nil {
		t.Fatal(err)
	}
	waitPods(t, ns, "fence", 2)
	if claimed {
		stall(t, ns, oldPod)
	}
	final := map[string]*krtv1.Run{}
	for name, run := range map[string]*krtv1.Run{"loop": loop, "late": late} {
		done := waitDone(t, run)
		if done.Status.Phase != krtv1.RunSucceeded || done.Status.Attempt != 2 || done.Status.AssignedPod == oldPod {
			t.Fatalf("%s: phase/attempt/pod = %s/%d/%s, want Succeeded as attempt 2 elsewhere", name, done.Status.Phase,
				done.Status.Attempt, done.Status.AssignedPod)
		}
		final[name] = done
	}
	// "late" ends while its runtimed is stalled: its result waits there.
	if err := os.WriteFile(gate, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	eventually(t, time.Minute, "late's attempt 1 to end", func() bool {
		return ledgerSays(ledger, "late", "ended") && len(markedProcesses(marker+"-late")) == 0
	})
	if ledgerSays(ledger, "loop", "stopped") {
		t.Fatalf("loop's attempt 1 was stopped while its runtimed was stalled")
	}

	if err := pool.ResumeRuntimed(ns, oldPod); err != nil {
		t.Fatal(err)
	}
	eventually(t, time.Minute, "the resumed runtimed to stop loop's attempt 1", func() bool {
		return ledgerSays(ledger, "loop", "stopped") && len(markedProcesses(marker+"-loop")) == 0
	})
	// Once the old pod has dropped late's execution, it has done with its
	// result whatever it was going to do.
	lateDir := filepath.Join(old.WorkRoot, string(late.UID)+"_1")
	eventually(t, time.Minute, "the old pod to drop late's attempt 1", func() bool {
		_, err := os.Stat(lateDir)
		return os.IsNotExist(err)
	})
	for name, want := range final {
		got := &krtv1.Run{}
		if err := env.Client.Get(context.Background(), client.ObjectKeyFromObject(want), got); err != nil {
			t.Fatal(err)
		}
		if got.ResourceVersion != want.ResourceVersion {
			t.Errorf("%s was written after attempt 2 finished: phase/attempt/pod %s/%d/%s, %q", name,
				got.Status.Phase, got.Status.Attempt, got.Status.AssignedPod, got.Status.Message)
		}
	}
}

// stall stops a pod's runtimed (SIGSTOP) until the test resumes it, or
// ends: a failed test must not leave it stopped.
func stall(t *testing.T, ns, pod string) {
	t.Helper()
	if err := pool.PauseRuntimed(ns, pod); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = pool.ResumeRuntimed(ns, pod) })
}

// ledgerSays reports whether a Run's ledger has the given line.
func ledgerSays(dir, name, line string) bool {
	data, _ := os.ReadFile(filepath.Join(dir, name))
	for _, l := range strings.Split(string(data), "\n") {
		if l == line {
			return true
		}
	}
	return false
}
