package kubetest

import (
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"time"

	"krt.dev/krt/runtimed/localpool"
)

// Process is a krt binary a test started, with its output in a file.
type Process struct {
	Name string
	Log  string
	cmd  *exec.Cmd
	done chan struct{}
}

// StartProcess runs bin in its own process group; it dies with the test
// process if that is killed.
func StartProcess(dir, name, bin string, args ...string) (*Process, error) {
	logPath := filepath.Join(dir, name+".log")
	f, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = f, f
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := startOnLastingThread(cmd); err != nil {
		f.Close()
		return nil, err
	}
	p := &Process{Name: name, Log: logPath, cmd: cmd, done: make(chan struct{})}
	go func() {
		_ = cmd.Wait()
		f.Close()
		close(p.done)
	}()
	return p, nil
}

// starts is served by one goroutine locked to its OS thread for the life
// of the test process. Pdeathsig fires when the *thread* that forked the
// child ends, not the process: a child forked from an ordinary goroutine's
// thread was killed whenever Go retired that thread, as it does when a
// goroutine ends locked to it (test/node's Listen did, and took the
// node's kubelet and controller-manager down with it mid-test).
var starts = make(chan func())

func init() {
	go func() {
		runtime.LockOSThread()
		for start := range starts {
			start()
		}
	}()
}

// startOnLastingThread starts cmd from the thread that never ends.
func startOnLastingThread(cmd *exec.Cmd) error {
	errc := make(chan error, 1)
	starts <- func() { errc <- cmd.Start() }
	return <-errc
}

// Kill sends SIGKILL, as a crash would, and waits for the process.
func (p *Process) Kill() {
	_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
	<-p.done
}

// Stop sends SIGTERM and waits up to 10s before killing.
func (p *Process) Stop() {
	_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(10 * time.Second):
		p.Kill()
	}
}

// PID is the process's id, for reading its /proc entry (its memory, in
// the attack suite).
func (p *Process) PID() int { return p.cmd.Process.Pid }

// Exited reports whether the process has ended.
func (p *Process) Exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// Tail returns the last n lines of the process's output, for failures.
func (p *Process) Tail(n int) string {
	data, _ := os.ReadFile(p.Log)
	lines := strings.Split(strings.TrimRight(string(data), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// LogSize is how much the process has written so far, to look at only
// what it writes after a point (see Refusals).
func (p *Process) LogSize() int64 {
	info, err := os.Stat(p.Log)
	if err != nil {
		return 0
	}
	return info.Size()
}

// Refusals returns the last n lines of the process's output, from offset
// since on, in which the API server refused a request as forbidden: a
// permission its RBAC lacks, or an admission policy.
func (p *Process) Refusals(since int64, n int) string {
	data, _ := os.ReadFile(p.Log)
	if since > int64(len(data)) {
		since = int64(len(data))
	}
	var out []string
	for _, line := range strings.Split(string(data[since:]), "\n") {
		if strings.Contains(line, "forbidden") {
			out = append(out, line)
		}
	}
	if len(out) > n {
		out = out[len(out)-n:]
	}
	return strings.Join(out, "\n")
}

// FreeAddress finds a loopback address nobody listens on, for a process's
// endpoint, from below the ephemeral range (see localpool.FreePort).
func FreeAddress() (string, error) { return localpool.FreeAddress() }
