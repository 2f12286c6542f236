package runtimeserver

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	runtimev1 "krt.dev/krt/api/runtime/v1"
	"krt.dev/krt/runtimed/outputs"
)

// execution is one attempt of one Run: a process group, its output and, once
// it has ended, its exit and outputs.
type execution struct {
	id      string
	dir     string // holds the script, the outputs file and work/
	started time.Time
	pid     int
	logs    *logBuffer
	ready   chan struct{} // closed once the start was attempted
	// sweep, when isolated, cleans the pod before the exit is reported.
	sweep func()

	mu       sync.Mutex
	stopping runtimev1.ExitReason // why we are killing it, if we are
	exit     *runtimev1.Exit
	outputs  *runtimev1.Outputs
	ended    time.Time
	done     chan struct{}
}

// command builds the process for a request: the script through the image's
// interpreter, or the command itself.
func (s *Server) command(req *runtimev1.ExecuteRequest, dir string) (*exec.Cmd, error) {
	paths, err := writeSecrets(dir, req.GetSecretFiles())
	if err != nil {
		return nil, err
	}
	var argv []string
	switch {
	case req.GetScript() != "":
		name, interp, err := s.interpreter(req.GetLanguage())
		if err != nil {
			return nil, err
		}
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, []byte(req.GetScript()), 0o600); err != nil {
			return nil, err
		}
		argv = append(interp, path)
	case len(req.GetCommand()) > 0:
		argv = rewriteAll(append(append(argv, req.GetCommand()...), req.GetArgs()...), paths)
	default:
		return nil, errors.New("the request has neither a script nor a command")
	}
	work := filepath.Join(dir, "work")
	env := make(map[string]string, len(req.GetEnv()))
	for k, v := range req.GetEnv() {
		env[k] = rewritePath(v, paths)
	}
	cmdEnv := mergeEnv(os.Environ(), env, map[string]string{
		"KRT_OUTPUTS":     filepath.Join(dir, "outputs"),
		"KRT_WORKDIR":     work,
		"KRT_SECRETS_DIR": secretsDir(dir),
	})
	// Not exec.Command: it looks the name up on the server's PATH, and
	// fails a tool that only the Run's PATH has.
	lp, err := lookPath(argv[0], cmdEnv)
	if err != nil {
		return nil, err
	}
	return &exec.Cmd{Path: lp, Args: argv, Dir: work, Env: cmdEnv,
		// Its own process group, so cancel and timeout reach every child;
		// and gone with us if krt-runtime itself dies.
		SysProcAttr: &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}}, nil
}

func (s *Server) interpreter(lang runtimev1.Language) (file string, argv []string, err error) {
	switch lang {
	case runtimev1.Language_LANGUAGE_BASH, runtimev1.Language_LANGUAGE_UNSPECIFIED:
		// As CI systems do: stop at the first failing command or pipe.
		return "script.sh", []string{s.opts.Bash, "--noprofile", "--norc", "-eo", "pipefail"}, nil
	case runtimev1.Language_LANGUAGE_PYTHON:
		return "script.py", []string{s.opts.Python, "-u"}, nil
	}
	return "", nil, fmt.Errorf("language %v is not supported", lang)
}

// mergeEnv layers environments: later maps win over earlier ones, and all of
// them over the container's own environment.
func mergeEnv(base []string, layers ...map[string]string) []string {
	m := make(map[string]string, len(base))
	order := make([]string, 0, len(base))
	for _, kv := range base {
		k, v, _ := strings.Cut(kv, "=")
		if _, ok := m[k]; !ok {
			order = append(order, k)
		}
		m[k] = v
	}
	for _, layer := range layers {
		for k, v := range layer {
			if _, ok := m[k]; !ok {
				order = append(order, k)
			}
			m[k] = v
		}
	}
	out := make([]string, 0, len(order))
	for _, k := range order {
		out = append(out, k+"="+m[k])
	}
	return out
}

// lookPath resolves a command against the Run's PATH, not the server's.
func lookPath(name string, env []string) (string, error) {
	if strings.Contains(name, "/") {
		return name, nil
	}
	for i := len(env) - 1; i >= 0; i-- {
		if p, ok := strings.CutPrefix(env[i], "PATH="); ok {
			for _, dir := range filepath.SplitList(p) {
				full := filepath.Join(dir, name)
				if st, err := os.Stat(full); err == nil && !st.IsDir() && st.Mode()&0o111 != 0 {
					return full, nil
				}
			}
			return "", fmt.Errorf("%q not found in PATH", name)
		}
	}
	return exec.LookPath(name)
}

// start launches the process and the goroutines that copy its output and
// wait for it.
func (e *execution) start(cmd *exec.Cmd, timeout time.Duration, grace time.Duration) error {
	stdoutR, stdoutW, err := os.Pipe()
	if err != nil {
		return err
	}
	stderrR, stderrW, err := os.Pipe()
	if err != nil {
		stdoutR.Close()
		stdoutW.Close()
		return err
	}
	cmd.Stdout, cmd.Stderr = stdoutW, stderrW
	err = cmd.Start()
	stdoutW.Close()
	stderrW.Close()
	if err != nil {
		stdoutR.Close()
		stderrR.Close()
		return err
	}
	e.pid = cmd.Process.Pid
	var copying sync.WaitGroup
	copying.Add(2)
	go e.copy(&copying, stdoutR, runtimev1.Stream_STREAM_STDOUT)
	go e.copy(&copying, stderrR, runtimev1.Stream_STREAM_STDERR)
	var timer *time.Timer
	if timeout > 0 {
		timer = time.AfterFunc(timeout, func() { e.kill(runtimev1.ExitReason_EXIT_REASON_TIMEOUT, grace) })
	}
	go e.wait(cmd, &copying, timer, []*os.File{stdoutR, stderrR})
	return nil
}

func (e *execution) copy(wg *sync.WaitGroup, r io.Reader, stream runtimev1.Stream) {
	defer wg.Done()
	buf := make([]byte, 32<<10)
	for {
		n, err := r.Read(buf)
		if n > 0 {
			e.logs.write(stream, buf[:n])
		}
		if err != nil {
			return
		}
	}
}

// wait reaps the process, then kills what is left of its group so that no
// background child outlives the step, and records how it ended.
func (e *execution) wait(cmd *exec.Cmd, copying *sync.WaitGroup, timer *time.Timer, readers []*os.File) {
	err := cmd.Wait()
	if timer != nil {
		timer.Stop()
	}
	_ = syscall.Kill(-e.pid, syscall.SIGKILL)
	if e.sweep != nil {
		_ = killDescendants() // a daemon would hold the pipes open
	}
	// A child that left the group may still hold the pipes open.
	drained := make(chan struct{})
	go func() { copying.Wait(); close(drained) }()
	select {
	case <-drained:
	case <-time.After(2 * time.Second):
		for _, r := range readers {
			r.Close()
		}
		<-drained
	}
	for _, r := range readers {
		r.Close()
	}
	out := outputsFrom(filepath.Join(e.dir, "outputs"))
	removeSecrets(e.dir)
	if e.sweep != nil {
		e.sweep()
	}
	e.finish(exitFrom(err), out)
}

func exitFrom(err error) *runtimev1.Exit {
	exit := &runtimev1.Exit{Reason: runtimev1.ExitReason_EXIT_REASON_EXITED, Time: timestamppb.Now()}
	var ee *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &ee):
		exit.Code = int32(ee.ExitCode())
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			exit.Code = 128 + int32(ws.Signal())
			exit.Message = "killed by " + ws.Signal().String()
		}
	default:
		exit.Code = -1
		exit.Message = err.Error()
	}
	return exit
}

func outputsFrom(path string) *runtimev1.Outputs {
	values, err := outputs.ReadFile(path)
	switch {
	case errors.Is(err, outputs.ErrTooLarge):
		return &runtimev1.Outputs{Error: err.Error(), ErrorKind: runtimev1.OutputsError_OUTPUTS_ERROR_TOO_LARGE}
	case err != nil:
		return &runtimev1.Outputs{Error: err.Error(), ErrorKind: runtimev1.OutputsError_OUTPUTS_ERROR_INVALID}
	}
	return &runtimev1.Outputs{Values: values}
}

func (e *execution) finish(exit *runtimev1.Exit, out *runtimev1.Outputs) {
	e.mu.Lock()
	if e.stopping != runtimev1.ExitReason_EXIT_REASON_UNSPECIFIED {
		exit.Reason = e.stopping
	}
	e.exit, e.outputs, e.ended = exit, out, time.Now()
	e.mu.Unlock()
	e.logs.close()
	close(e.done)
}

// kill stops the process group: SIGTERM now, SIGKILL after grace. The first
// reason given is the one reported.
func (e *execution) kill(reason runtimev1.ExitReason, grace time.Duration) bool {
	<-e.ready // pid is set by then
	e.mu.Lock()
	if e.exit != nil || e.pid <= 0 {
		e.mu.Unlock()
		return false
	}
	if e.stopping == runtimev1.ExitReason_EXIT_REASON_UNSPECIFIED {
		e.stopping = reason
	}
	e.mu.Unlock()
	_ = syscall.Kill(-e.pid, syscall.SIGTERM)
	go func() {
		select {
		case <-e.done:
		case <-time.After(grace):
			_ = syscall.Kill(-e.pid, syscall.SIGKILL)
		}
	}()
	return true
}

// status reports the execution for Status and List.
func (e *execution) status() *runtimev1.ExecutionStatus {
	e.mu.Lock()
	defer e.mu.Unlock()
	st := &runtimev1.ExecutionStatus{
		Id: e.id, State: runtimev1.State_STATE_RUNNING,
		Started: timestamppb.New(e.started), LogSize: e.logs.length(),
	}
	if e.exit != nil {
		st.State, st.Exit, st.Outputs = runtimev1.State_STATE_EXITED, e.exit, e.outputs
	}
	return st
}

// stream sends the execution's events to one Execute caller, from offset on,
// until the execution has ended and everything has been sent.
func (e *execution) stream(ctx context.Context, offset int64, attached bool, send func(*runtimev1.ExecuteEvent) error) error {
	select {
	case <-e.ready:
	case <-ctx.Done():
		return ctx.Err()
	}
	started := &runtimev1.Started{Pid: int32(e.pid), Workdir: filepath.Join(e.dir, "work"), Time: timestamppb.New(e.started), Attached: attached}
	if err := send(&runtimev1.ExecuteEvent{Event: &runtimev1.ExecuteEvent_Started{Started: started}}); err != nil {
		return err
	}
	for {
		chunks, changed, closed := e.logs.since(offset)
		for _, c := range chunks {
			if err := send(&runtimev1.ExecuteEvent{Event: &runtimev1.ExecuteEvent_Log{Log: c}}); err != nil {
				return err
			}
			offset = c.Offset + int64(len(c.Data))
		}
		if closed && len(chunks) == 0 {
			break
		}
		if !closed {
			select {
			case <-changed:
			case <-ctx.Done():
				return ctx.Err()
			}
		}
	}
	<-e.done
	e.mu.Lock()
	exit, out := e.exit, e.outputs
	e.mu.Unlock()
	if err := send(&runtimev1.ExecuteEvent{Event: &runtimev1.ExecuteEvent_Outputs{Outputs: out}}); err != nil {
		return err
	}
	return send(&runtimev1.ExecuteEvent{Event: &runtimev1.ExecuteEvent_Exit{Exit: exit}})
}
