package devup

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// screen is a command running as a user would see it: its output so
// far, and a Ctrl-C.
type screen interface {
	Text() string
	Interrupt()
	// Exited reports whether the command has ended.
	Exited() bool
	Close()
}

// newScreen runs the command in a tmux pane, a real terminal where
// Ctrl-C goes to the foreground process group, when tmux is installed;
// otherwise with pipes, sending SIGINT to the command's group as the
// terminal would. KRT_DEVUP_PIPES=1 forces the pipes, to test that path.
func newScreen(t *testing.T, env []string, args ...string) screen {
	t.Helper()
	if _, err := exec.LookPath("tmux"); err == nil && os.Getenv("KRT_DEVUP_PIPES") == "" {
		t.Log("driving krt in a tmux pane")
		return newTmux(t, env, args)
	}
	t.Log("tmux is not installed: driving krt through pipes, Ctrl-C as SIGINT to its process group")
	return newPipes(t, env, args)
}

// tmuxScreen runs a command in a private tmux server, so that the
// user's own tmux is never touched.
type tmuxScreen struct {
	t      *testing.T
	socket string
}

func newTmux(t *testing.T, env, args []string) *tmuxScreen {
	s := &tmuxScreen{t: t, socket: fmt.Sprintf("krt-devup-%d-%d", os.Getpid(), time.Now().UnixNano())}
	// exec, so that the pane's process is krt itself and its exit shows;
	// remain-on-exit keeps the pane (and its last words) after that.
	cmdline := "exec env " + shellJoin(append(env, args...))
	out, err := s.tmux("-f", "/dev/null", "new-session", "-d", "-s", "dev", "-x", "250", "-y", "100", cmdline,
		";", "set-option", "-t", "dev", "remain-on-exit", "on")
	if err != nil {
		t.Fatalf("tmux new-session: %v: %s", err, out)
	}
	return s
}

func (s *tmuxScreen) tmux(args ...string) (string, error) {
	out, err := exec.Command("tmux", append([]string{"-L", s.socket}, args...)...).CombinedOutput()
	return string(out), err
}

// Text joins wrapped lines (-J) and reads the history too (-S).
func (s *tmuxScreen) Text() string {
	out, _ := s.tmux("capture-pane", "-p", "-J", "-S", "-1000", "-t", "dev")
	return out
}

func (s *tmuxScreen) Interrupt() { _, _ = s.tmux("send-keys", "-t", "dev", "C-c") }

func (s *tmuxScreen) Exited() bool {
	out, err := s.tmux("display-message", "-p", "-t", "dev", "#{pane_dead}")
	return err != nil || strings.TrimSpace(out) == "1"
}

func (s *tmuxScreen) Close() { _, _ = s.tmux("kill-server") }

// pipeScreen is the fallback without a terminal.
type pipeScreen struct {
	cmd  *exec.Cmd
	mu   sync.Mutex
	out  bytes.Buffer
	done chan struct{}
}

func newPipes(t *testing.T, env, args []string) *pipeScreen {
	s := &pipeScreen{done: make(chan struct{})}
	s.cmd = exec.Command(args[0], args[1:]...)
	s.cmd.Env = append(os.Environ(), env...)
	s.cmd.Stdout, s.cmd.Stderr = s, s
	s.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := s.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		_ = s.cmd.Wait()
		close(s.done)
	}()
	return s
}

func (s *pipeScreen) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.out.Write(p)
}

func (s *pipeScreen) Text() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.out.String()
}

func (s *pipeScreen) Interrupt() { _ = syscall.Kill(-s.cmd.Process.Pid, syscall.SIGINT) }

func (s *pipeScreen) Exited() bool {
	select {
	case <-s.done:
		return true
	default:
		return false
	}
}

func (s *pipeScreen) Close() {
	if !s.Exited() {
		_ = syscall.Kill(-s.cmd.Process.Pid, syscall.SIGKILL)
		<-s.done
	}
}

// waitScreen waits until the screen shows want, failing with the screen.
func waitScreen(t *testing.T, s screen, want string, timeout time.Duration) string {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		text := s.Text()
		if strings.Contains(text, want) {
			return text
		}
		if s.Exited() {
			t.Fatalf("krt exited before showing %q; the screen:\n%s", want, text)
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Fatalf("%q did not appear within %s; the screen:\n%s", want, timeout, s.Text())
	return ""
}

// shellJoin single-quotes words for sh.
func shellJoin(words []string) string {
	quoted := make([]string, len(words))
	for i, w := range words {
		quoted[i] = "'" + strings.ReplaceAll(w, "'", `'\''`) + "'"
	}
	return strings.Join(quoted, " ")
}
