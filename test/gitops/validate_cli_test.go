package gitops

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// `krt validate DIR` reports what the controller would, offline: the same
// files, lines, fields and reasons, and exit code 1.
func TestValidateCLI(t *testing.T) {
	dir := t.TempDir()
	files := map[string]string{"good.yaml": workflowYAML("good", "v1")}
	for _, c := range badFiles {
		files[filepath.Base(c.file)] = c.content
	}
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	out, code := krtCLI(t, "validate", dir)
	if code != 1 {
		t.Errorf("exit code %d, want 1; output:\n%s", code, out)
	}
	for _, c := range badFiles {
		want := filepath.Join(dir, filepath.Base(c.file)) + ":" + itoa(c.line) + ": "
		if c.field != "" {
			want += c.field + ": "
		}
		if !strings.Contains(out, want) || !strings.Contains(out, c.msg) {
			t.Errorf("output lacks %q ... %q:\n%s", want, c.msg, out)
		}
	}

	good := t.TempDir()
	if err := os.WriteFile(filepath.Join(good, "a.yaml"), []byte(workflowYAML("a", "v1")), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, code := krtCLI(t, "validate", good); code != 0 || !strings.Contains(out, "are valid") {
		t.Errorf("a valid folder: exit %d, output %q", code, out)
	}
}

func krtCLI(t *testing.T, args ...string) (string, int) {
	t.Helper()
	cmd := exec.Command(bins.Krt, args...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	var exit *exec.ExitError
	switch {
	case errors.As(err, &exit):
		return out.String(), exit.ExitCode()
	case err != nil:
		t.Fatal(err)
	}
	return out.String(), 0
}

func itoa(n int32) string { return strconv.Itoa(int(n)) }
