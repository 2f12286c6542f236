package devup

import (
	"strings"
	"testing"
	"time"

	"krt.dev/krt/cmd/krt/devstack"
)

// waitReady polls `krt dev status` while a stack starts, as make run
// does, until it exits 0. The README: it "exits 0 when the stack is
// ready, 2 while it starts or stops, 1 when it is not running". So a call
// made while state.json said the stack was starting, both before and
// after the call, must exit 2 and say so; and one that exits 0 must find
// it running. Starting takes seconds (an etcd and an API server per
// cluster, then the first apply), so the polls do see it starting.
func waitReady(t *testing.T, dir string, scr *screen, timeout time.Duration) {
	t.Helper()
	seen := 0
	for deadline := time.Now().Add(timeout); ; time.Sleep(100 * time.Millisecond) {
		before := phase(t, dir)
		out, code := krt(t, nil, "dev", "status", "--dir", dir)
		after := phase(t, dir)
		if before == devstack.PhaseStarting && after == devstack.PhaseStarting {
			seen++
			if code != 2 || !strings.Contains(out, "krt dev is starting") {
				t.Fatalf("krt dev status while the stack starts: exit %d, want 2 and \"krt dev is starting\":\n%s", code, out)
			}
		}
		if code == 0 {
			if after != devstack.PhaseRunning || !strings.Contains(out, "krt dev is running") {
				t.Errorf("krt dev status exited 0 with state.json saying %q, want running:\n%s", after, out)
			}
			break
		}
		if scr.Exited() {
			t.Fatalf("krt dev up exited while starting; the screen:\n%s", scr.Text())
		}
		if time.Now().After(deadline) {
			t.Fatalf("krt dev status did not exit 0 within %s (last exit %d):\n%s\nthe screen:\n%s", timeout, code, out, scr.Text())
		}
	}
	if seen == 0 {
		t.Errorf("no `krt dev status` ran while the stack was starting, so none showed its exit 2")
	}
	t.Logf("krt dev status exited 2 while the stack started, %d times, then 0", seen)
}

// phase is the stack's phase as state.json tells it; "" without one.
func phase(t *testing.T, dir string) string {
	t.Helper()
	st, err := devstack.ReadState(dir)
	if err != nil {
		t.Fatalf("reading state.json: %v", err)
	}
	if st == nil {
		return ""
	}
	return st.Phase
}
