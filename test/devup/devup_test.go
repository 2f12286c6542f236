package devup

import (
	"context"
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
	krtv1 "krt.dev/krt/api/v1alpha1"
	"krt.dev/krt/cmd/krt/devstack"
)

// One dev stack, used as the printed block suggests, then Ctrl-C. The
// git port asked for is taken, so the stack must pick another and say so.
func TestUpUseAndInterrupt(t *testing.T) {
	dir := t.TempDir()
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	busyPort := strconv.Itoa(busy.Addr().(*net.TCPAddr).Port)

	scr := newScreen(t, nil, bins.Krt, "dev", "up", "--dir", dir, "--git-port", busyPort, "--webhook-port", "0")
	t.Cleanup(func() {
		if !scr.Exited() {
			krt(t, nil, "dev", "down", "--dir", dir)
		}
		scr.Close()
	})
	// Generous: under `make test` other packages load the same two cores.
	text := waitScreen(t, scr, "krt wf runs", 3*time.Minute)
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
	t.Run("push", func(t *testing.T) { pushStartsRun(t, kubeconfig, gitURL) })

	interrupt(t, scr, dir, state)
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

// pushStartsRun pushes a change to hello.yaml. With the on.push trigger
// in krt-controller it starts the run hello-push-<sha7>; without it, the
// push must at least reach the Workflow at once.
func pushStartsRun(t *testing.T, kubeconfig, gitURL string) {
	work := filepath.Join(t.TempDir(), "clone")
	gitCmd(t, "", "clone", "--quiet", gitURL, work)
	file := filepath.Join(work, "workflows", "hello.yaml")
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	edited := strings.Replace(string(data), `default: "hello from krt"`, `default: "hello from the devup test"`, 1)
	if err := os.WriteFile(file, []byte(edited), 0o644); err != nil {
		t.Fatal(err)
	}
	gitCmd(t, work, "commit", "--quiet", "-am", "Say hello from the test")
	gitCmd(t, work, "push", "--quiet", "origin", "main")
	sha := gitCmd(t, work, "rev-parse", "HEAD")

	c := hubClient(t, kubeconfig)
	ctx := context.Background()
	runName := "hello-push-" + sha[:7]
	var updatedAt time.Time
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		wr := &krtv1.WorkflowRun{}
		if err := c.Get(ctx, client.ObjectKey{Namespace: "default", Name: runName}, wr); err == nil {
			t.Logf("the push started WorkflowRun %s (phase %q)", runName, wr.Status.Phase)
			return
		}
		wf := &krtv1.Workflow{}
		if err := c.Get(ctx, client.ObjectKey{Namespace: "default", Name: "hello"}, wf); err == nil &&
			strings.Contains(wf.Annotations[krtv1.AnnotationRevision], sha) && updatedAt.IsZero() {
			updatedAt = time.Now()
		}
		// Give a trigger controller a moment after the Workflow changed.
		if !updatedAt.IsZero() && time.Since(updatedAt) > 5*time.Second {
			t.Logf("the push updated Workflow hello to %s; no WorkflowRun %s appeared (no on.push trigger in krt-controller yet)", sha[:7], runName)
			return
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Errorf("30s after the push, neither WorkflowRun %s nor Workflow hello at %s", runName, sha[:7])
}

// interrupt presses Ctrl-C and checks that nothing the stack ran is left.
func interrupt(t *testing.T, scr *screen, dir string, state *devstack.State) {
	scr.Interrupt()
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
		t.Errorf("processes left after Ctrl-C: %v", left)
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

func hubClient(t *testing.T, kubeconfig string) client.Client {
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
