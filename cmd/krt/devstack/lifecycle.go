package devstack

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"syscall"
	"time"
)

// ourNames are the commands a dev stack runs; only processes of these
// names are ever cleaned up by looking at command lines.
var ourNames = map[string]bool{"etcd": true, "kube-apiserver": true, "krt-controller": true, "runtimed": true, "krt-runtime": true}

// claim takes the directory for one `up`. An flock, which the kernel
// drops when its holder dies however it dies, tells a running `up` from
// a state file that a crash left behind.
func claim(dir string, note func(string, ...any)) (func(), error) {
	f, err := os.OpenFile(filepath.Join(dir, "up.lock"), os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, err
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		pid := "unknown"
		if st, _ := ReadState(dir); st != nil {
			pid = fmt.Sprint(st.Up.PID)
		}
		return nil, fmt.Errorf("krt dev is already running (pid %s); use `krt dev down%s`", pid, dirFlag(dir))
	}
	release := func() { f.Close() }
	st, err := ReadState(dir)
	if err != nil {
		release()
		return nil, err
	}
	if st != nil {
		left := cleanupStale(st)
		note("the last krt dev (pid %d) did not stop cleanly; recovered its state%s", st.Up.PID, stopped(left))
	}
	return release, nil
}

// cleanupStale stops what a crashed `up` left running and removes its
// state file; it returns how many processes it stopped.
func cleanupStale(st *State) int {
	var left []Proc
	for _, p := range st.allProcs() {
		if p.Alive() {
			left = append(left, p)
		}
	}
	for _, p := range mentioning(st.Dir + string(filepath.Separator)) {
		if ourNames[p.Name] {
			left = append(left, p)
		}
	}
	stopAll(left, 5*time.Second)
	_ = os.Remove(statePath(st.Dir))
	return len(left)
}

func stopped(n int) string {
	if n == 0 {
		return ""
	}
	return fmt.Sprintf(" and stopped %d processes it left behind", n)
}

// DownOptions configure `krt dev down`.
type DownOptions struct {
	Dir string
	// Purge removes the directory as well: all state, for a fresh start.
	Purge bool
	Out   io.Writer
}

// downTimeout is how long `down` waits for `up` to stop its processes.
const downTimeout = 90 * time.Second

// Down stops the `up` running in a directory and waits for it to end.
func Down(opts DownOptions) error {
	dir, err := filepath.Abs(opts.Dir)
	if err != nil {
		return err
	}
	st, err := ReadState(dir)
	switch {
	case errors.Is(err, ErrCorrupt) && opts.Purge:
		stopAll(ownedBy(dir), 5*time.Second)
	case err != nil:
		return err
	case st == nil:
		fmt.Fprintf(opts.Out, "krt dev is not running in %s\n", dir)
	case st.Up.Alive():
		if err := stopUp(st, opts.Out); err != nil {
			return err
		}
	default:
		n := cleanupStale(st)
		fmt.Fprintf(opts.Out, "krt dev (pid %d) was not running; cleaned up its state%s\n", st.Up.PID, stopped(n))
	}
	if opts.Purge {
		return purge(dir, opts.Out)
	}
	return nil
}

// stopUp asks `up` to shut down, as Ctrl-C would, and waits; should it
// hang, it and everything it recorded are killed.
func stopUp(st *State, out io.Writer) error {
	fmt.Fprintf(out, "stopping krt dev (pid %d)...\n", st.Up.PID)
	st.Up.kill(syscall.SIGTERM)
	if err := waitGone(st.Up, downTimeout); err != nil {
		fmt.Fprintf(out, "krt dev did not stop within %s; killing it\n", downTimeout)
		stopAll(st.allProcs(), 0)
		stopAll(ownedBy(st.Dir), 0)
	}
	fmt.Fprintln(out, "krt dev stopped")
	return nil
}

// ownedBy finds the dev stack's processes by the directory on their
// command lines, for when the state file cannot be read.
func ownedBy(dir string) []Proc {
	var out []Proc
	for _, p := range mentioning(dir + string(filepath.Separator)) {
		if ourNames[p.Name] {
			out = append(out, p)
		}
	}
	return out
}

// purge removes the directory, but only one that looks like a dev
// stack's: `--dir ~ --purge` must not wipe a home directory.
func purge(dir string, out io.Writer) error {
	if _, err := os.Stat(dir); errors.Is(err, os.ErrNotExist) {
		return nil
	}
	marks := 0
	for _, name := range []string{"state.json", "up.lock", "hub", "logs", "kubeconfig"} {
		if _, err := os.Stat(filepath.Join(dir, name)); err == nil {
			marks++
		}
	}
	if marks == 0 {
		return fmt.Errorf("refusing to remove %s: it does not look like a krt dev directory", dir)
	}
	if err := os.RemoveAll(dir); err != nil {
		return err
	}
	fmt.Fprintf(out, "removed %s\n", dir)
	return nil
}

// dirFlag repeats --dir in advice, unless it is the default.
func dirFlag(dir string) string {
	if wd, err := os.Getwd(); err == nil && dir == filepath.Join(wd, DefaultDir) {
		return ""
	}
	return " --dir " + dir
}
