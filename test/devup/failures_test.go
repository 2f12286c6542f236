package devup

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"krt.dev/krt/cmd/krt/devstack"
)

// Each failure says what is wrong and the way out, in one line, without a
// stack trace, and without starting anything.
func TestHelpfulFailures(t *testing.T) {
	t.Run("corrupted state.json", func(t *testing.T) {
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, "state.json"), []byte("{not json"), 0o600); err != nil {
			t.Fatal(err)
		}
		for _, args := range [][]string{{"up"}, {"status"}, {"down"}} {
			out, code := krt(t, nil, append([]string{"dev"}, append(args, "--dir", dir)...)...)
			want := "state.json is corrupted"
			if code == 0 || !strings.Contains(out, want) || !strings.Contains(out, "krt dev down --purge --dir "+dir) {
				t.Errorf("krt dev %s: exit %d, want %q and the way out:\n%s", args[0], code, want, out)
			}
			noStackTrace(t, out)
		}
		out, code := krt(t, nil, "dev", "down", "--purge", "--dir", dir)
		if code != 0 || !strings.Contains(out, "removed "+dir) {
			t.Errorf("krt dev down --purge: exit %d:\n%s", code, out)
		}
		if _, err := os.Stat(dir); !os.IsNotExist(err) {
			t.Errorf("%s is still there after --purge", dir)
		}
	})

	// The recorded pid is this test's own, with another start time: a pid
	// that was reused must not be taken for a running krt dev.
	t.Run("stale state.json", func(t *testing.T) {
		dir := t.TempDir()
		writeState(t, dir, devstack.State{Up: devstack.Proc{Name: "krt dev up", PID: os.Getpid(), Start: 1},
			Phase: devstack.PhaseRunning, Dir: dir})
		out, code := krt(t, nil, "dev", "status", "--dir", dir)
		if code != 1 || !strings.Contains(out, "has gone without cleaning up") {
			t.Errorf("krt dev status: exit %d, want 1 and a note on the stale state:\n%s", code, out)
		}
		out, code = krt(t, nil, "dev", "down", "--dir", dir)
		if code != 0 || !strings.Contains(out, "was not running; cleaned up its state") {
			t.Errorf("krt dev down: exit %d:\n%s", code, out)
		}
		if _, err := os.Stat(filepath.Join(dir, "state.json")); !os.IsNotExist(err) {
			t.Error("state.json is still there")
		}
	})

	t.Run("binaries missing", func(t *testing.T) {
		lonely := filepath.Join(t.TempDir(), "krt")
		data, err := os.ReadFile(bins.Krt)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(lonely, data, 0o755); err != nil {
			t.Fatal(err)
		}
		out, code := run(t, nil, lonely, "dev", "up", "--dir", t.TempDir())
		if code == 0 || !strings.Contains(out, "krt-controller not found next to krt") || !strings.Contains(out, "make build") {
			t.Errorf("krt dev up without krt-controller: exit %d:\n%s", code, out)
		}
		noStackTrace(t, out)
	})

	t.Run("purge refuses a foreign directory", func(t *testing.T) {
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, "notes.txt"), []byte("mine"), 0o600); err != nil {
			t.Fatal(err)
		}
		out, code := krt(t, nil, "dev", "down", "--purge", "--dir", dir)
		if code == 0 || !strings.Contains(out, "does not look like a krt dev directory") {
			t.Errorf("krt dev down --purge on a foreign directory: exit %d:\n%s", code, out)
		}
		if _, err := os.Stat(filepath.Join(dir, "notes.txt")); err != nil {
			t.Errorf("purge removed a foreign directory: %v", err)
		}
	})
}
