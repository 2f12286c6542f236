// Package devup drives `krt dev up`, `down` and `status` as a user would:
// the real krt binary in a terminal, the commands it prints, a push to its
// git server, Ctrl-C, and the process table afterwards.
package devup

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/go-logr/logr"
	ctrllog "sigs.k8s.io/controller-runtime/pkg/log"

	"krt.dev/krt/test/kubetest"
)

var bins kubetest.Binaries

func TestMain(m *testing.M) {
	// The test's clients log nothing worth reading; without a logger,
	// controller-runtime prints a stack trace to say so.
	ctrllog.SetLogger(logr.Discard())
	var err error
	// krt dev finds krt-controller, runtimed and krt-runtime next to krt,
	// which is how Build lays them out.
	if bins, err = kubetest.Build(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(bins.Dir)
	os.Exit(code)
}

// krt runs the CLI to completion and returns its combined output and
// exit code.
func krt(t *testing.T, env []string, args ...string) (string, int) {
	t.Helper()
	return run(t, env, bins.Krt, args...)
}

func run(t *testing.T, env []string, bin string, args ...string) (string, int) {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), env...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	var exit *exec.ExitError
	switch {
	case errors.As(err, &exit):
		return out.String(), exit.ExitCode()
	case err != nil:
		t.Fatalf("%s %v: %v", bin, args, err)
	}
	return out.String(), 0
}

// gitCmd runs git without the user's config, with an identity.
func gitCmd(t *testing.T, dir string, args ...string) string {
	t.Helper()
	base := []string{"-c", "user.name=devup test", "-c", "user.email=devup@krt.dev", "-c", "commit.gpgsign=false"}
	cmd := exec.Command("git", append(base, args...)...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GIT_CONFIG_NOSYSTEM=1", "GIT_CONFIG_GLOBAL=/dev/null", "GIT_TERMINAL_PROMPT=0")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("git %v: %v: %s", args, err, out)
	}
	return strings.TrimSpace(string(out))
}

// devProcesses are the live processes a dev stack in dir runs: each of
// them names the directory on its command line (etcd's data, the API
// server's certificates, the kubeconfigs and the pools' sockets).
func devProcesses(dir string) []string {
	names := map[string]bool{"etcd": true, "kube-apiserver": true, "krt-controller": true, "runtimed": true, "krt-runtime": true}
	var out []string
	cmdlines, _ := filepath.Glob("/proc/[0-9]*/cmdline")
	for _, path := range cmdlines {
		pid, err := strconv.Atoi(filepath.Base(filepath.Dir(path)))
		if err != nil {
			continue
		}
		comm, state, ok := stat(pid)
		if !ok || !names[comm] || state == "Z" {
			continue
		}
		data, _ := os.ReadFile(path)
		if strings.Contains(string(data), dir+"/") {
			out = append(out, fmt.Sprintf("%s (pid %d)", comm, pid))
		}
	}
	return out
}

// alive reports whether pid runs and is not a zombie: an exited child of
// a parent that has not reaped it yet is gone for all purposes here.
func alive(pid int) bool {
	_, state, ok := stat(pid)
	return ok && state != "Z"
}

func stat(pid int) (comm, state string, ok bool) {
	data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return "", "", false
	}
	s := string(data)
	open, closing := strings.IndexByte(s, '('), strings.LastIndexByte(s, ')')
	if open < 0 || closing < open {
		return "", "", false
	}
	fields := strings.Fields(s[closing+1:])
	if len(fields) == 0 {
		return "", "", false
	}
	return s[open+1 : closing], fields[0], true
}
