package devup

import (
	"encoding/json"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"krt.dev/krt/api/scheme"
	"krt.dev/krt/cmd/krt/devstack"
)

// One dev stack with staging and prod, started as make run starts it,
// used as its printed block suggests and as make run uses it, then
// Ctrl-C; then a second `up` in the same directory, which must resume
// what the first left. The git port asked for is taken, so the stack must
// pick another and say so.
func TestUpUseAndResume(t *testing.T) {
	dir := t.TempDir()
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	busyPort := strconv.Itoa(busy.Addr().(*net.TCPAddr).Port)

	scr := startUp(t, dir, "--git-port", busyPort)
	// Generous: under `make test` other packages load the same two cores.
	waitReady(t, dir, scr, 3*time.Minute)
	text := waitScreen(t, scr, "krt wf runs", time.Minute)
	if !strings.Contains(text, "port "+busyPort+" for the git server is in use") {
		t.Errorf("no note about the busy git port %s; the screen:\n%s", busyPort, text)
	}
	kubeconfig := find(t, text, `export KUBECONFIG=(\S+)`)
	gitURL := find(t, text, `git: (\S+)`)
	if strings.Contains(gitURL, ":"+busyPort+"/") {
		t.Errorf("the git server is on the busy port: %s", gitURL)
	}
	state, err := devstack.ReadState(dir)
	if err != nil || state == nil {
		t.Fatalf("reading state.json: %v", err)
	}
	if state.Kubeconfig != kubeconfig || state.GitURL != gitURL {
		t.Errorf("state.json names %s and %s, the screen %s and %s", state.Kubeconfig, state.GitURL, kubeconfig, gitURL)
	}
	env := []string{"KUBECONFIG=" + kubeconfig}

	t.Run("krt run prints hi", func(t *testing.T) { runHi(t, text, env) })
	t.Run("kubectl get runs", func(t *testing.T) { getRuns(t, env) })
	t.Run("up twice", func(t *testing.T) { upTwice(t, dir, state.Up.PID) })
	t.Run("status", func(t *testing.T) {
		out, code := krt(t, nil, "dev", "status", "--dir", dir)
		if code != 0 || !strings.Contains(out, "krt dev is running") || !strings.Contains(out, "krt-controller") {
			t.Errorf("krt dev status: exit %d:\n%s", code, out)
		}
	})
	t.Run("make run's push", func(t *testing.T) { pushRunsHello(t, dir, state) })
	kept := snapshot(t, kubeconfig)

	scr.Interrupt()
	stopped(t, scr, dir, state)
	t.Run("up resumes", func(t *testing.T) { resumes(t, dir, kept) })
}

// startUp runs `krt dev up --clusters staging,prod` in dir, in a
// terminal, as make run does.
func startUp(t *testing.T, dir string, flags ...string) *screen {
	t.Helper()
	args := append([]string{bins.Krt, "dev", "up", "--dir", dir, "--clusters", "staging,prod", "--webhook-port", "0"}, flags...)
	scr := newScreen(t, nil, args...)
	t.Cleanup(func() {
		if !scr.Exited() {
			krt(t, nil, "dev", "down", "--dir", dir)
		}
		scr.Close()
	})
	return scr
}

func runHi(t *testing.T, screen string, env []string) {
	if !strings.Contains(screen, "krt run --wait -- echo hi") {
		t.Errorf("the screen does not suggest `krt run --wait -- echo hi`:\n%s", screen)
	}
	out, code := krt(t, env, "run", "--wait", "--", "echo", "hi")
	if code != 0 || !regexp.MustCompile(`(?m)^hi$`).MatchString(out) {
		t.Errorf("krt run --wait -- echo hi: exit %d, want a line \"hi\":\n%s", code, out)
	}
}

// getRuns runs the screen's `kubectl get runs` with the real kubectl.
func getRuns(t *testing.T, env []string) {
	out, code := run(t, env, kubectl(t), "get", "runs")
	if code != 0 || !strings.Contains(out, "Succeeded") {
		t.Errorf("kubectl get runs: exit %d, want the Succeeded run of `krt run`:\n%s", code, out)
	}
}

// kubectl is the path of the real kubectl; there is no fallback, so a
// machine without it fails here, naming it.
func kubectl(t *testing.T) string {
	t.Helper()
	path, err := exec.LookPath("kubectl")
	if err != nil {
		t.Fatalf("kubectl is not installed (%v): the dev stack's screen tells users to run it; `make test-deps` installs it", err)
	}
	return path
}

func upTwice(t *testing.T, dir string, pid int) {
	out, code := krt(t, nil, "dev", "up", "--dir", dir)
	want := "krt dev is already running (pid " + strconv.Itoa(pid) + "); use `krt dev down"
	if code == 0 || !strings.Contains(out, want) {
		t.Errorf("a second up: exit %d, want %q:\n%s", code, want, out)
	}
	noStackTrace(t, out)
}

// stopped waits for a stack told to stop (Ctrl-C or `krt dev down`) to
// end, and checks that nothing it ran is left.
func stopped(t *testing.T, scr *screen, dir string, state *devstack.State) {
	t.Helper()
	waitScreen(t, scr, "krt dev: stopped", time.Minute)
	for deadline := time.Now().Add(15 * time.Second); !scr.Exited(); time.Sleep(100 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("krt dev up printed stopped but did not exit")
		}
	}
	var left []string
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		left = devProcesses(dir)
		for _, c := range state.Clusters {
			for _, p := range c.Processes {
				if alive(p.PID) && !contains(left, p.PID) {
					left = append(left, p.Name+" (pid "+strconv.Itoa(p.PID)+", from state.json)")
				}
			}
		}
		if len(left) == 0 {
			break
		}
	}
	if len(left) > 0 {
		t.Errorf("processes left after the stack stopped: %v", left)
	}
	if _, err := os.Stat(filepath.Join(dir, "state.json")); !os.IsNotExist(err) {
		t.Errorf("state.json is still there after a clean stop: %v", err)
	}
	noStackTrace(t, scr.Text())
	if races := raceReports(dir); len(races) > 0 {
		t.Errorf("the race detector reported in: %v", races)
	}
}

// raceReports names the logs (and the screen's krt) in which a -race
// build reported, which this test binary's own -race cannot see.
func raceReports(dir string) []string {
	var out []string
	_ = filepath.Walk(dir, func(path string, info os.FileInfo, err error) error {
		if err != nil || info.IsDir() || !(strings.HasSuffix(path, ".log") || strings.HasSuffix(path, ".err")) {
			return nil
		}
		if data, _ := os.ReadFile(path); strings.Contains(string(data), "WARNING: DATA RACE") {
			out = append(out, path)
		}
		return nil
	})
	return out
}

func contains(list []string, pid int) bool {
	for _, s := range list {
		if strings.Contains(s, "(pid "+strconv.Itoa(pid)+")") {
			return true
		}
	}
	return false
}

func kubeClient(t *testing.T, kubeconfig string) client.Client {
	t.Helper()
	cfg, err := clientcmd.BuildConfigFromFlags("", kubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	c, err := client.New(cfg, client.Options{Scheme: scheme.New()})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func find(t *testing.T, text, pattern string) string {
	t.Helper()
	m := regexp.MustCompile(pattern).FindStringSubmatch(text)
	if m == nil {
		t.Fatalf("no %s on the screen:\n%s", pattern, text)
	}
	return m[1]
}

func noStackTrace(t *testing.T, out string) {
	t.Helper()
	if strings.Contains(out, "goroutine ") || strings.Contains(out, "panic:") || strings.Contains(out, "DATA RACE") {
		t.Errorf("a stack trace:\n%s", out)
	}
}

// writeState writes a state.json as a crashed `up` would leave it.
func writeState(t *testing.T, dir string, s devstack.State) {
	t.Helper()
	data, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "state.json"), data, 0o600); err != nil {
		t.Fatal(err)
	}
}
