package e2e

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	krtv1 "krt.dev/krt/api/v1alpha1"
)

// markedProcesses lists the live processes whose environment carries the
// marker: every process a Run started, children included.
func markedProcesses(marker string) []string {
	var pids []string
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		env, err := os.ReadFile(filepath.Join("/proc", e.Name(), "environ"))
		if err == nil && strings.Contains(string(env), "KRT_TEST_MARKER="+marker) {
			pids = append(pids, e.Name())
		}
	}
	return pids
}

// treeScript starts a child and a grandchild that would outlive a careless
// kill, then waits.
const treeScript = `sleep 300 &
bash -c 'sleep 300 & wait' &
echo started
wait`

func TestTimeoutKillsTheWholeProcessGroup(t *testing.T) {
	ns := setupRuntime(t, "slow", 1, 2)
	marker := fmt.Sprintf("timeout-%d", time.Now().UnixNano())
	run := newRun(t, ns, krtv1.RunSpec{Runtime: "slow", Script: treeScript,
		Env:     []krtv1.EnvVar{{Name: "KRT_TEST_MARKER", Value: marker}},
		Timeout: &metav1.Duration{Duration: 2 * time.Second}})
	run = waitDone(t, run)
	if run.Status.Phase != krtv1.RunTimeout || run.Status.Reason != krtv1.ReasonTimeout {
		t.Fatalf("phase/reason = %s/%s, want Timeout", run.Status.Phase, run.Status.Reason)
	}
	if left := markedProcesses(marker); len(left) > 0 {
		t.Fatalf("processes of the timed-out Run are still alive: %v", left)
	}
}

func TestCancel(t *testing.T) {
	t.Run("pending", func(t *testing.T) {
		// A runtime with no pods: its Runs can only wait.
		ns := setupRuntime(t, "empty", 0, 1)
		run := newRun(t, ns, krtv1.RunSpec{Runtime: "empty", Script: "echo never"})
		run = waitRun(t, run, time.Minute, "wait for a pod", func(r *krtv1.Run) bool {
			return findCondition(r, krtv1.ConditionScheduled) != nil
		})
		if _, stderr, code := krt(t, "cancel", "-n", ns, run.Name); code != 0 {
			t.Fatalf("krt cancel: exit %d: %s", code, stderr)
		}
		run = waitDone(t, run)
		if run.Status.Phase != krtv1.RunCancelled || run.Status.StartTime != nil {
			t.Fatalf("phase = %s, startTime = %v; want Cancelled without ever starting", run.Status.Phase, run.Status.StartTime)
		}
	})
	t.Run("running", func(t *testing.T) {
		ns := setupRuntime(t, "busy", 1, 2)
		marker := fmt.Sprintf("cancel-%d", time.Now().UnixNano())
		run := newRun(t, ns, krtv1.RunSpec{Runtime: "busy", Script: treeScript,
			Env: []krtv1.EnvVar{{Name: "KRT_TEST_MARKER", Value: marker}}})
		waitPhase(t, run, krtv1.RunRunning)
		eventually(t, time.Minute, "the Run's processes to start", func() bool { return len(markedProcesses(marker)) >= 3 })
		if _, stderr, code := krt(t, "cancel", "-n", ns, run.Name); code != 0 {
			t.Fatalf("krt cancel: exit %d: %s", code, stderr)
		}
		run = waitDone(t, run)
		if run.Status.Phase != krtv1.RunCancelled {
			t.Fatalf("phase = %s (%s), want Cancelled", run.Status.Phase, run.Status.Message)
		}
		if left := markedProcesses(marker); len(left) > 0 {
			t.Fatalf("processes of the cancelled Run are still alive: %v", left)
		}
	})
}

func TestRunSpecIsImmutableButCancelAndTTL(t *testing.T) {
	ns := env.Namespace(t)
	run := waitDone(t, newRun(t, ns, krtv1.RunSpec{Runtime: "nowhere", Script: "true", CancelRequested: true}))
	cases := []struct {
		name    string
		mutate  func(*krtv1.Run)
		wantErr string
	}{
		{name: "unset cancelRequested", mutate: func(r *krtv1.Run) { r.Spec.CancelRequested = false }, wantErr: "spec.cancelRequested cannot be unset"},
		{name: "change the script", mutate: func(r *krtv1.Run) { r.Spec.Script = "echo changed" }, wantErr: "spec is immutable but for cancelRequested and ttlSecondsAfterFinished"},
		{name: "add env", mutate: func(r *krtv1.Run) { r.Spec.Env = []krtv1.EnvVar{{Name: "A", Value: "b"}} }, wantErr: "spec is immutable but for cancelRequested and ttlSecondsAfterFinished"},
		{name: "change the runtime", mutate: func(r *krtv1.Run) { r.Spec.Runtime = "other" }, wantErr: "spec is immutable but for cancelRequested and ttlSecondsAfterFinished"},
		{name: "change the TTL", mutate: func(r *krtv1.Run) { r.Spec.TTLSecondsAfterFinished = ptr.To(int32(60)) }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			fresh := &krtv1.Run{}
			if err := env.Client.Get(context.Background(), client.ObjectKeyFromObject(run), fresh); err != nil {
				t.Fatal(err)
			}
			tc.mutate(fresh)
			err := env.Client.Update(context.Background(), fresh)
			switch {
			case tc.wantErr == "" && err != nil:
				t.Fatalf("update rejected: %v", err)
			case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
				t.Fatalf("update error = %v, want %q", err, tc.wantErr)
			}
		})
	}
	// The rule is the admission policy krt-run-spec, on the main resource
	// only: a status write is the other way in, and there the API server
	// keeps the stored spec.
	t.Run("through the status subresource", func(t *testing.T) {
		fresh := &krtv1.Run{}
		if err := env.Client.Get(context.Background(), client.ObjectKeyFromObject(run), fresh); err != nil {
			t.Fatal(err)
		}
		fresh.Spec.Script = "echo changed"
		if err := env.Client.Status().Update(context.Background(), fresh); err != nil {
			t.Fatalf("status update: %v", err)
		}
		if err := env.Client.Get(context.Background(), client.ObjectKeyFromObject(run), fresh); err != nil {
			t.Fatal(err)
		}
		if fresh.Spec.Script != "true" {
			t.Fatalf("a status write changed the script to %q", fresh.Spec.Script)
		}
	})
}
