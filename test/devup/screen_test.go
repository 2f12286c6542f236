package devup

import (
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// screen is a command running as a user would see it: in a tmux pane, a
// real terminal where Ctrl-C goes to the foreground process group. Its
// tmux server is private, so that the user's own tmux is never touched.
type screen struct {
	socket string
}

// newScreen starts the command in a new tmux pane. There is no fallback
// without tmux: pipes and a signal would not show how krt behaves in a
// terminal, so a machine without tmux fails here, naming it.
func newScreen(t *testing.T, env []string, args ...string) *screen {
	t.Helper()
	if _, err := exec.LookPath("tmux"); err != nil {
		t.Fatalf("tmux is not installed (%v): test/devup drives krt dev up in a tmux terminal; `make test-deps` installs it", err)
	}
	s := &screen{socket: fmt.Sprintf("krt-devup-%d-%d", os.Getpid(), time.Now().UnixNano())}
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

func (s *screen) tmux(args ...string) (string, error) {
	out, err := exec.Command("tmux", append([]string{"-L", s.socket}, args...)...).CombinedOutput()
	return string(out), err
}

// Text joins wrapped lines (-J) and reads the history too (-S).
func (s *screen) Text() string {
	out, _ := s.tmux("capture-pane", "-p", "-J", "-S", "-1000", "-t", "dev")
	return out
}

func (s *screen) Interrupt() { _, _ = s.tmux("send-keys", "-t", "dev", "C-c") }

// Exited reports whether the command has ended.
func (s *screen) Exited() bool {
	out, err := s.tmux("display-message", "-p", "-t", "dev", "#{pane_dead}")
	return err != nil || strings.TrimSpace(out) == "1"
}

func (s *screen) Close() { _, _ = s.tmux("kill-server") }

// waitScreen waits until the screen shows want, failing with the screen.
func waitScreen(t *testing.T, s *screen, want string, timeout time.Duration) string {
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
