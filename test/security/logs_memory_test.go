package security

import (
	"fmt"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	krtv1 "krt.dev/krt/api/v1alpha1"
)

// runtimedLimit is the runtimed container's memory limit in a cluster
// (controllers/runtime/podtemplate.go).
const runtimedLimit = 256 << 20

var droppedMarker = regexp.MustCompile(`(?m)^krt: (\d+) lines \((\d+) bytes\) dropped: log buffer full$`)

// TestLogFloodLeavesRuntimedUnderItsLimit floods runtimed with output, as a
// step can, and checks that it stays well under its memory limit, keeps
// running, finishes the Run, and says what it dropped.
func TestLogFloodLeavesRuntimedUnderItsLimit(t *testing.T) {
	ns := logsRuntime(t, "flood", 1)
	pid := pool.Pods(ns, "flood")[0].RuntimedPID
	base, _ := memory(t, pid)
	t.Logf("runtimed: peak RSS %d MiB before the flood", base>>20)
	cases := []struct {
		name   string
		script string
	}{
		// Empty lines used to be free, and runtimed kept all of them.
		{name: "yes ''", script: "{ yes '' || true; } | head -n 5000000"},
		{name: "a 100 MiB line", script: `head -c 104857600 /dev/zero | tr '\0' a; echo; echo done`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			run := logsRun(t, ns, krtv1.RunSpec{Runtime: "flood", Script: tc.script}, 5*time.Minute)
			pod := pool.Pods(ns, "flood")[0]
			if pod.RuntimedPID != pid {
				t.Fatalf("runtimed restarted (pid %d, was %d)", pod.RuntimedPID, pid)
			}
			peak, rss := memory(t, pid)
			t.Logf("runtimed: peak RSS %d MiB, now %d MiB (limit %d MiB)", peak>>20, rss>>20, runtimedLimit>>20)
			if peak > runtimedLimit*3/4 {
				t.Errorf("runtimed's peak RSS is %d MiB, not well under its %d MiB limit", peak>>20, runtimedLimit>>20)
			}
			if run.Status.Phase != krtv1.RunSucceeded || !strings.Contains(run.Status.Message, "dropped: log buffer full") {
				t.Errorf("run %s: %s (%s), want Succeeded with a message saying what was dropped", run.Name, run.Status.Phase, run.Status.Message)
			}
			out := krtLogs(t, run)
			m := droppedMarker.FindStringSubmatch(out)
			if m == nil {
				t.Fatalf("krt logs has no line saying what was dropped; it has %d bytes, ending %q", len(out), tail(out, 300))
			}
			t.Logf("krt logs: %s; message: %s", m[0], run.Status.Message)
			if n, _ := strconv.Atoi(m[1]); n == 0 {
				t.Errorf("marker %q counts no lines", m[0])
			}
			if len(out) > 4<<20 {
				t.Errorf("krt logs printed %d MiB for one Run, over its head and tail", len(out)>>20)
			}
		})
	}
}

// memory reads a process's peak and current resident size.
func memory(t *testing.T, pid int) (peak, now int64) {
	t.Helper()
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatalf("runtimed is gone: %v", err)
	}
	for _, line := range strings.Split(string(data), "\n") {
		var kb int64
		if _, err := fmt.Sscanf(line, "VmHWM: %d kB", &kb); err == nil {
			peak = kb << 10
		}
		if _, err := fmt.Sscanf(line, "VmRSS: %d kB", &kb); err == nil {
			now = kb << 10
		}
	}
	if peak == 0 {
		t.Fatalf("no VmHWM in /proc/%d/status", pid)
	}
	return peak, now
}

func tail(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}
