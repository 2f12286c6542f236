package kubetest

import (
	"runtime"
	"testing"
	"time"
)

// A process outlives the goroutine, and the OS thread, that started it.
// Go retires a thread whose goroutine ends locked to it (as one that
// entered a network namespace does); a child forked from that thread,
// with Pdeathsig set, was killed with it. Several starters, because Go
// parks the main thread instead of retiring it, and one may run there.
func TestProcessOutlivesTheStartersThread(t *testing.T) {
	const starters = 4
	started := make(chan *Process, starters)
	for range starters {
		go func() {
			runtime.LockOSThread() // never unlocked: the thread ends with the goroutine
			p, err := StartProcess(t.TempDir(), "sleeper", "sleep", "30")
			if err != nil {
				t.Error(err)
			}
			started <- p
		}()
	}
	var procs []*Process
	for range starters {
		if p := <-started; p != nil {
			procs = append(procs, p)
			defer p.Kill()
		}
	}
	// Dying takes a moment; living takes waiting.
	time.Sleep(time.Second)
	for _, p := range procs {
		if p.Exited() {
			t.Fatalf("a process died when the thread that started it ended: %v", p.cmd.ProcessState)
		}
	}
}
