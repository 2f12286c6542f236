package localpool

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	corev1 "k8s.io/api/core/v1"

	krtv1 "krt.dev/krt/api/v1alpha1"
)

// podProcs are the two processes that stand in for a runtime pod's
// containers: krt-runtime (the runtime container) and runtimed (the sidecar).
type podProcs struct {
	pod      *corev1.Pod
	runtime  string
	dir      string
	logsPort int
	langs    string
	secrets  []string

	mu sync.Mutex
	// held keeps processes a fault test stopped from being restarted, as a
	// kubelet would restart them, until the test restarts them itself.
	held     bool
	server   *exec.Cmd
	runtimed *exec.Cmd
	exited   map[*exec.Cmd]chan struct{}
}

func (pp *podProcs) socket() string { return filepath.Join(pp.dir, "rt.sock") }

// LogsURL is where this pod's runtimed serves live logs.
func (pp *podProcs) LogsURL() string { return "http://127.0.0.1:" + strconv.Itoa(pp.logsPort) }

func (p *Pool) startServer(pp *podProcs) error {
	cmd := exec.Command(p.opts.RuntimeBin,
		"--listen", "unix://"+pp.socket(),
		"--work-root", filepath.Join(pp.dir, "work"),
		"--kill-grace", p.opts.KillGrace.String())
	cmd.Env = append(os.Environ(), p.opts.RuntimeEnv...)
	if err := p.spawn(pp, cmd, "krt-runtime"); err != nil {
		return err
	}
	pp.server = cmd
	return waitFor(func() bool {
		c, err := net.Dial("unix", pp.socket())
		if err == nil {
			c.Close()
		}
		return err == nil
	}, pp.exited[cmd])
}

func (p *Pool) startRuntimed(pp *podProcs) error {
	kubeconfig, err := p.podKubeconfig(context.Background(), pp)
	if err != nil {
		return err
	}
	cmd := exec.Command(p.opts.RuntimedBin,
		"--kubeconfig", kubeconfig,
		"--pod-name", pp.pod.Name,
		"--pod-namespace", pp.pod.Namespace,
		"--pod-uid", string(pp.pod.UID),
		"--runtime", pp.runtime,
		"--languages", pp.langs,
		"--allowed-secrets", strings.Join(pp.secrets, ","),
		"--runtime-address", "unix://"+pp.socket(),
		"--logs-address", "127.0.0.1:"+strconv.Itoa(pp.logsPort),
		"--lease-duration", p.opts.LeaseDuration.String(),
		"--kill-grace", p.opts.KillGrace.String(),
		"--kube-api-qps", "-1")
	if token := pp.pod.Annotations[krtv1.AnnotationLocalLogsToken]; token != "" {
		file := filepath.Join(pp.dir, "logs-token")
		if err := os.WriteFile(file, []byte(token), 0o600); err != nil {
			return err
		}
		cmd.Args = append(cmd.Args, "--logs-token-file", file)
	}
	cmd.Args = append(cmd.Args, p.opts.RuntimedArgs...)
	cmd.Env = os.Environ()
	if err := p.spawn(pp, cmd, "runtimed"); err != nil {
		return err
	}
	pp.runtimed = cmd
	return waitFor(func() bool {
		resp, err := http.Get(pp.LogsURL() + "/healthz")
		if err == nil {
			resp.Body.Close()
		}
		return err == nil && resp.StatusCode == http.StatusOK
	}, pp.exited[cmd])
}

// spawn starts a process with its stdout and stderr appended to files in the
// pod's directory (name.log and name.err), in its own process group, and
// killed if the pool's process dies.
func (p *Pool) spawn(pp *podProcs, cmd *exec.Cmd, name string) error {
	stdout, err := os.OpenFile(filepath.Join(pp.dir, name+".log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return err
	}
	stderr, err := os.OpenFile(filepath.Join(pp.dir, name+".err"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		stdout.Close()
		return err
	}
	cmd.Stdout, cmd.Stderr = stdout, stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		stdout.Close()
		stderr.Close()
		return fmt.Errorf("starting %s for pod %s: %w", name, pp.pod.Name, err)
	}
	done := make(chan struct{})
	pp.exited[cmd] = done
	go func() {
		_ = cmd.Wait()
		stdout.Close()
		stderr.Close()
		close(done)
	}()
	return nil
}

// waitFor polls a local readiness check, as a kubelet's probe would, until
// it passes or the process exits.
func waitFor(ready func() bool, exited <-chan struct{}) error {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	t := time.NewTicker(20 * time.Millisecond)
	defer t.Stop()
	for !ready() {
		select {
		case <-exited:
			return fmt.Errorf("the process exited before it was ready")
		case <-ctx.Done():
			return fmt.Errorf("not ready after 60s")
		case <-t.C:
		}
	}
	return nil
}

// kill sends SIGKILL to a process group and waits for the process.
func (pp *podProcs) kill(cmd *exec.Cmd) {
	if cmd == nil || cmd.Process == nil {
		return
	}
	_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	<-pp.exited[cmd]
}

// stop asks a process to stop (SIGTERM), then kills it after grace.
func (pp *podProcs) stop(cmd *exec.Cmd, grace time.Duration) {
	if cmd == nil || cmd.Process == nil {
		return
	}
	_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM)
	select {
	case <-pp.exited[cmd]:
	case <-time.After(grace):
		pp.kill(cmd)
	}
}

// alive reports whether a process is still running.
func (pp *podProcs) alive(cmd *exec.Cmd) bool {
	if cmd == nil {
		return false
	}
	select {
	case <-pp.exited[cmd]:
		return false
	default:
		return true
	}
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func languages(langs []string) string {
	if len(langs) == 0 {
		return "bash,python"
	}
	return strings.Join(langs, ",")
}
