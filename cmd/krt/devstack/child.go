package devstack

import (
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// child is a process the dev stack runs, with its output in a log file.
type child struct {
	name string
	log  string
	cmd  *exec.Cmd
	done chan struct{}
}

// startChild runs bin in a process group of its own, so a Ctrl-C on the
// terminal reaches only `krt dev up`, which then stops the children in
// order; Pdeathsig takes the child down should `up` itself be killed.
func startChild(name, logPath, bin string, args ...string) (*child, error) {
	f, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(f, "---- %s: %s %s\n", time.Now().Format(time.RFC3339), bin, strings.Join(args, " "))
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = f, f
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		f.Close()
		return nil, fmt.Errorf("starting %s: %w", name, err)
	}
	c := &child{name: name, log: logPath, cmd: cmd, done: make(chan struct{})}
	go func() {
		_ = cmd.Wait()
		f.Close()
		close(c.done)
	}()
	return c, nil
}

func (c *child) proc() Proc { return procOf(c.name, c.cmd.Process.Pid) }

func (c *child) exited() bool {
	select {
	case <-c.done:
		return true
	default:
		return false
	}
}

// stop sends SIGTERM to the group, and SIGKILL after grace.
func (c *child) stop(grace time.Duration) {
	if c == nil {
		return
	}
	_ = syscall.Kill(-c.cmd.Process.Pid, syscall.SIGTERM)
	select {
	case <-c.done:
	case <-time.After(grace):
		_ = syscall.Kill(-c.cmd.Process.Pid, syscall.SIGKILL)
		<-c.done
	}
}

// watchdog kills procs once this process is gone. envtest starts etcd and
// kube-apiserver without Pdeathsig, so without it a `krt dev up` that is
// killed outright (kill -9, a closed terminal) would leave them running
// and holding the etcd directory. It is stopped on a clean shutdown.
type watchdog struct{ cmd *exec.Cmd }

func startWatchdog(procs []Proc) *watchdog {
	var pids []string
	for _, p := range procs {
		pids = append(pids, strconv.Itoa(p.PID))
	}
	if len(pids) == 0 {
		return nil
	}
	// A zombie still answers kill -0, so the state field of stat is read;
	// a killed `up` whose parent does not reap it is a zombie for a while.
	script := fmt.Sprintf(`while s=$(cat /proc/%d/stat 2>/dev/null); do case "${s##*) }" in Z*) break;; esac; sleep 0.5; done; kill -9 %s 2>/dev/null`,
		os.Getpid(), strings.Join(pids, " "))
	cmd := exec.Command("sh", "-c", script)
	// Its own session: the terminal's Ctrl-C must not end it early.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		return nil
	}
	go func() { _ = cmd.Wait() }()
	return &watchdog{cmd: cmd}
}

func (w *watchdog) stop() {
	if w != nil {
		_ = w.cmd.Process.Kill()
	}
}
