package devstack

import (
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Proc is a process the dev stack started. Start is its start time as
// the kernel counts it, so a PID that was reused by an unrelated process
// is never taken for ours, neither for liveness nor to be killed.
type Proc struct {
	Name  string `json:"name"`
	PID   int    `json:"pid"`
	Start uint64 `json:"start"`
}

// procStat is the part of /proc/<pid>/stat the dev stack needs.
type procStat struct {
	comm  string
	ppid  int
	start uint64
}

func readStat(pid int) (procStat, bool) {
	data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return procStat{}, false
	}
	// pid (comm) state ppid pgrp session tty tpgid flags minflt cminflt
	// majflt cmajflt utime stime cutime cstime priority nice threads
	// itrealvalue starttime; comm may itself hold spaces and parentheses.
	s := string(data)
	open, closing := strings.IndexByte(s, '('), strings.LastIndexByte(s, ')')
	if open < 0 || closing < open {
		return procStat{}, false
	}
	f := strings.Fields(s[closing+1:])
	if len(f) < 20 || f[0] == "Z" {
		return procStat{}, false // a zombie has already exited
	}
	ppid, _ := strconv.Atoi(f[1])
	start, _ := strconv.ParseUint(f[19], 10, 64)
	return procStat{comm: s[open+1 : closing], ppid: ppid, start: start}, true
}

// procOf records a running process.
func procOf(name string, pid int) Proc {
	st, _ := readStat(pid)
	return Proc{Name: name, PID: pid, Start: st.start}
}

// Alive reports whether the recorded process still runs.
func (p Proc) Alive() bool {
	if p.PID <= 0 {
		return false
	}
	st, ok := readStat(p.PID)
	return ok && st.start == p.Start
}

// kill signals the process's group when it leads one (the dev stack
// starts every child in a group of its own), else the process alone.
// Never both: the group includes its leader, and `krt dev up` in a
// terminal leads its group, so a second SIGTERM would reach it as a
// second Ctrl-C and kill everything instead of stopping cleanly.
func (p Proc) kill(sig syscall.Signal) {
	if !p.Alive() {
		return
	}
	if pgid, err := syscall.Getpgid(p.PID); err == nil && pgid == p.PID && syscall.Kill(-p.PID, sig) == nil {
		return
	}
	_ = syscall.Kill(p.PID, sig)
}

// stopAll asks processes to stop, then kills whatever is left after grace.
func stopAll(procs []Proc, grace time.Duration) {
	for _, p := range procs {
		p.kill(syscall.SIGTERM)
	}
	deadline := time.Now().Add(grace)
	for time.Now().Before(deadline) && anyAlive(procs) {
		time.Sleep(50 * time.Millisecond)
	}
	for _, p := range procs {
		p.kill(syscall.SIGKILL)
	}
}

func anyAlive(procs []Proc) bool {
	for _, p := range procs {
		if p.Alive() {
			return true
		}
	}
	return false
}

// children lists the live child processes of pid, by command name.
func children(pid int, names ...string) []Proc {
	var out []Proc
	stats, _ := filepath.Glob("/proc/[0-9]*/stat")
	for _, path := range stats {
		child, err := strconv.Atoi(filepath.Base(filepath.Dir(path)))
		if err != nil {
			continue
		}
		st, ok := readStat(child)
		if !ok || st.ppid != pid {
			continue
		}
		for _, n := range names {
			if st.comm == n {
				out = append(out, Proc{Name: n, PID: child, Start: st.start})
			}
		}
	}
	return out
}

// mentioning lists live processes whose command line holds s: with the
// dev directory, every process a dev stack started there, even when its
// state file is gone or unreadable.
func mentioning(s string) []Proc {
	var out []Proc
	me := os.Getpid()
	cmdlines, _ := filepath.Glob("/proc/[0-9]*/cmdline")
	for _, path := range cmdlines {
		pid, err := strconv.Atoi(filepath.Base(filepath.Dir(path)))
		if err != nil || pid == me {
			continue
		}
		data, err := os.ReadFile(path)
		if err != nil || !strings.Contains(string(data), s) {
			continue
		}
		if st, ok := readStat(pid); ok {
			out = append(out, Proc{Name: st.comm, PID: pid, Start: st.start})
		}
	}
	return out
}

// errStillRunning is returned by waitGone when the process outlived the wait.
var errStillRunning = errors.New("still running")

// waitGone waits for a process to end.
func waitGone(p Proc, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for p.Alive() {
		if time.Now().After(deadline) {
			return errStillRunning
		}
		time.Sleep(100 * time.Millisecond)
	}
	return nil
}

// ownChild finds this process's child called name whose command line
// holds marker: envtest does not say which processes it started.
func ownChild(name, marker string) (Proc, bool) {
	for _, p := range mentioning(marker) {
		if st, ok := readStat(p.PID); ok && st.ppid == os.Getpid() && st.comm == name {
			return p, true
		}
	}
	return Proc{}, false
}
