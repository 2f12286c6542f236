package localpool

import (
	"context"
	"fmt"
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
	runtimectl "krt.dev/krt/controllers/runtime"
)

// podProcs are the processes that stand in for a runtime pod's containers:
// krt-runtime (the runtime container) and runtimed (the sidecar), started
// from the pod's spec once its init containers have run.
type podProcs struct {
	pod      *corev1.Pod
	host     podHost
	runtime  string
	dir      string
	logsPort int

	mu sync.Mutex
	// initialized is set once the init containers have run, as a kubelet
	// runs them once per pod, not per container restart.
	initialized bool
	// held keeps processes a fault test stopped from being restarted, as a
	// kubelet would restart them, until the test restarts them itself.
	held     bool
	server   *exec.Cmd
	runtimed *exec.Cmd
	exited   map[*exec.Cmd]chan struct{}
}

// LogsURL is where this pod's runtimed serves live logs.
func (pp *podProcs) LogsURL() string { return "http://127.0.0.1:" + strconv.Itoa(pp.logsPort) }

// additions are what the pool gives a container beyond its spec: for
// runtimed the identity a kubelet would mount, and for both the knobs that
// make tests quick.
func (p *Pool) additions(pp *podProcs, container string) (args, env []string, err error) {
	switch container {
	case runtimectl.RuntimeContainer:
		token, err := pp.runtimeToken()
		if err != nil {
			return nil, nil, err
		}
		// Here runtimed shares the server's uid: a per-pod token stands in
		// for the uid check.
		return []string{"--kill-grace", p.opts.KillGrace.String(), "--runtimed-uid=-1", "--token-file", token}, p.opts.RuntimeEnv, nil
	case runtimectl.RuntimedContainer:
		kubeconfig, err := p.podKubeconfig(context.Background(), pp)
		if err != nil {
			return nil, nil, err
		}
		token, err := pp.runtimeToken()
		if err != nil {
			return nil, nil, err
		}
		args = []string{"--lease-duration", p.opts.LeaseDuration.String(), "--kill-grace", p.opts.KillGrace.String(), "--kube-api-qps", "-1",
			"--runtime-token-file", token}
		if token := pp.pod.Annotations[krtv1.AnnotationLocalLogsToken]; token != "" {
			file := filepath.Join(pp.dir, "logs-token")
			if err := os.WriteFile(file, []byte(token), 0o600); err != nil {
				return nil, nil, err
			}
			args = append(args, "--logs-token-file", file)
		}
		return append(args, p.opts.RuntimedArgs...), []string{"KUBECONFIG=" + kubeconfig}, nil
	}
	return nil, nil, nil
}

// runInit runs the pod's init containers in order, each to its end, as a
// kubelet does before it starts the containers.
func (p *Pool) runInit(pp *podProcs) error {
	for i := range pp.pod.Spec.InitContainers {
		c := &pp.pod.Spec.InitContainers[i]
		cmd, err := p.command(pp, c)
		if err != nil {
			return err
		}
		from := errSize(pp, c.Name)
		if err := p.spawn(pp, cmd, c.Name); err != nil {
			return err
		}
		select {
		case <-pp.exited[cmd]:
		case <-time.After(time.Minute):
			pp.kill(cmd)
		}
		if code := cmd.ProcessState.ExitCode(); code != 0 {
			return fmt.Errorf("pod %s: init container %s exited with %d: %s", pp.pod.Name, c.Name, code, stderrSince(pp, c.Name, from))
		}
	}
	return nil
}

// startContainer starts one of the pod's containers and waits until its
// readiness probe passes.
func (p *Pool) startContainer(pp *podProcs, name string) (*exec.Cmd, error) {
	var c *corev1.Container
	for i := range pp.pod.Spec.Containers {
		if pp.pod.Spec.Containers[i].Name == name {
			c = &pp.pod.Spec.Containers[i]
		}
	}
	if c == nil {
		return nil, fmt.Errorf("pod %s has no container %s", pp.pod.Name, name)
	}
	cmd, err := p.command(pp, c)
	if err != nil {
		return nil, err
	}
	ready, err := pp.host.probe(c, c.ReadinessProbe, cmd.Env)
	if err != nil {
		return nil, err
	}
	from := errSize(pp, name)
	if err := p.spawn(pp, cmd, name); err != nil {
		return nil, err
	}
	if err := waitFor(ready, pp.exited[cmd]); err != nil {
		pp.kill(cmd)
		stderr := stderrSince(pp, name, from)
		return nil, portError(fmt.Errorf("pod %s: container %s: %w: %s", pp.pod.Name, name, err, stderr), stderr)
	}
	return cmd, nil
}

// command is a container's process: its spec mapped onto this machine,
// with the pool's additions.
func (p *Pool) command(pp *podProcs, c *corev1.Container) (*exec.Cmd, error) {
	argv, err := pp.host.command(c)
	if err != nil {
		return nil, err
	}
	env, err := pp.host.env(c)
	if err != nil {
		return nil, err
	}
	args, extraEnv, err := p.additions(pp, c.Name)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(argv[0], append(argv[1:], args...)...)
	cmd.Env = append(append(hostEnv(), env...), extraEnv...)
	return cmd, nil
}

// hostEnv is this process's environment, for PATH to bash and python (an
// image would have its own). A binary built with -race sleeps 1s at exit
// unless GORACE says otherwise: longer than an exec probe may take.
func hostEnv() []string {
	env := os.Environ()
	if os.Getenv("GORACE") == "" {
		env = append(env, "GORACE=atexit_sleep_ms=0")
	}
	return env
}

func (p *Pool) startServer(pp *podProcs) error {
	cmd, err := p.startContainer(pp, runtimectl.RuntimeContainer)
	if err == nil {
		pp.server = cmd
	}
	return err
}

func (p *Pool) startRuntimed(pp *podProcs) error {
	cmd, err := p.startContainer(pp, runtimectl.RuntimedContainer)
	if err == nil {
		pp.runtimed = cmd
	}
	return err
}

// errSize is how much a container's stderr file holds before a start.
func errSize(pp *podProcs, name string) int64 {
	fi, err := os.Stat(filepath.Join(pp.dir, name+".err"))
	if err != nil {
		return 0
	}
	return fi.Size()
}

// stderrSince is what a container wrote to stderr since a start, to say
// why it failed: its first lines (a flag error comes first, before the
// usage) and its last.
func stderrSince(pp *podProcs, name string, from int64) string {
	data, _ := os.ReadFile(filepath.Join(pp.dir, name+".err"))
	data = data[min(from, int64(len(data))):]
	lines := strings.Split(strings.TrimSpace(string(data)), "\n")
	if len(lines) > 6 {
		lines = append(append(lines[:2:2], "..."), lines[len(lines)-3:]...)
	}
	return strings.Join(lines, "\n")
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
