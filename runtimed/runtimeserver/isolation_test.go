package runtimeserver

import (
	"context"
	"errors"
	"io"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"

	runtimev1 "krt.dev/krt/api/runtime/v1"
)

// serveIsolated starts a real Server with an isolation mode. These tests
// are not parallel: an isolated server kills every child of this process.
func serveIsolated(t *testing.T, opts Options) runtimev1.RuntimeClient {
	t.Helper()
	srv, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	sock := filepath.Join(t.TempDir(), "rt.sock")
	lis, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	g := grpc.NewServer()
	runtimev1.RegisterRuntimeServer(g, srv)
	go g.Serve(lis)
	t.Cleanup(g.Stop)
	conn, err := grpc.NewClient("unix://"+sock, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return runtimev1.NewRuntimeClient(conn)
}

// startErr is the error an Execute ends with before any event, if any.
func startErr(c runtimev1.RuntimeClient, id, script string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	stream, err := c.Execute(ctx, &runtimev1.ExecuteRequest{Id: id, Script: script})
	if err != nil {
		return err
	}
	for {
		if _, err := stream.Recv(); err != nil {
			if errors.Is(err, io.EOF) {
				return nil
			}
			return err
		}
	}
}

func TestIsolatedServerRunsOneExecutionAtATime(t *testing.T) {
	for _, tc := range []struct {
		mode       string
		secondSays string
		thirdSays  string // "" when a third execution, after the first, may run
	}{
		{mode: Exclusive, secondSays: "one Run at a time"},
		{mode: Ephemeral, secondSays: "has taken its one Run", thirdSays: "has taken its one Run"},
	} {
		t.Run(tc.mode, func(t *testing.T) {
			c := serveIsolated(t, Options{WorkRoot: filepath.Join(t.TempDir(), "work"), KillGrace: time.Second, Isolation: tc.mode})
			first := make(chan error, 1)
			go func() { first <- startErr(c, "first", "sleep 1") }()
			waitRunning(t, c, "first")
			err := startErr(c, "second", "true")
			if status.Code(err) != codes.FailedPrecondition || !strings.Contains(err.Error(), tc.secondSays) {
				t.Errorf("a second execution beside the first: want FailedPrecondition, %q; got %v", tc.secondSays, err)
			}
			if err := <-first; err != nil {
				t.Fatal(err)
			}
			err = startErr(c, "third", "true")
			if tc.thirdSays == "" && err != nil {
				t.Errorf("an execution after the first ended: %v", err)
			}
			if tc.thirdSays != "" && (status.Code(err) != codes.FailedPrecondition || !strings.Contains(err.Error(), tc.thirdSays)) {
				t.Errorf("an execution after the first: want FailedPrecondition, %q; got %v", tc.thirdSays, err)
			}
		})
	}
}

func waitRunning(t *testing.T, c runtimev1.RuntimeClient, id string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		st, err := c.Status(context.Background(), &runtimev1.StatusRequest{Id: id})
		if err == nil && st.GetState() == runtimev1.State_STATE_RUNNING {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("execution %s never ran", id)
}

// An exclusive server's sweep: the daemon a Run left in its own session
// is dead by the time the Run's exit is reported, and the work root and
// the wiped directory are empty but for what the server keeps.
func TestSweepKillsDaemonsAndWipes(t *testing.T) {
	dir := t.TempDir()
	work, extra := filepath.Join(dir, "work"), filepath.Join(dir, "extra")
	keep := filepath.Join(extra, "run", "rt.sock")
	if err := os.MkdirAll(filepath.Dir(keep), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keep, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	c := serveIsolated(t, Options{WorkRoot: work, KillGrace: time.Second, Isolation: Exclusive, Wipe: []string{extra}, Keep: []string{keep}})
	pidFile := filepath.Join(dir, "daemon.pid") // outside the wiped areas
	out := execute(t, c, &runtimev1.ExecuteRequest{Id: "planter", Env: map[string]string{"EXTRA": extra, "PIDFILE": pidFile}, Script: `
setsid bash -c 'echo $$ > "$PIDFILE"; exec sleep 300' </dev/null >/dev/null 2>&1 &
for i in $(seq 100); do [ -s "$PIDFILE" ] && break; sleep 0.05; done
echo x > "$KRT_WORKDIR/../../left"; echo x > "$EXTRA/left"; echo x > "$EXTRA/run/left"
mkdir -p "$EXTRA/locked/in"; echo x > "$EXTRA/locked/in/f"; chmod 0 "$EXTRA/locked"`})
	if out.exit.GetCode() != 0 {
		t.Fatalf("the planter: %v %s", out.exit, out.stderr)
	}
	data, err := os.ReadFile(pidFile)
	if err != nil {
		t.Fatal(err)
	}
	pid, _ := strconv.Atoi(strings.TrimSpace(string(data)))
	if pid <= 0 || !errors.Is(syscall.Kill(pid, 0), syscall.ESRCH) {
		_ = syscall.Kill(pid, syscall.SIGKILL)
		t.Errorf("the setsid daemon (pid %d) outlived its Run", pid)
	}
	for _, d := range []string{work, extra, filepath.Join(extra, "run")} {
		entries, _ := os.ReadDir(d)
		var names []string
		for _, e := range entries {
			names = append(names, e.Name())
		}
		// The Run's own directory stays until Forget, for Collect.
		want := map[string]string{work: dirName("planter"), extra: "run", filepath.Join(extra, "run"): "rt.sock"}[d]
		if got := strings.Join(names, ","); got != want {
			t.Errorf("%s holds %q after the Run, want %q", d, got, want)
		}
	}
	if _, err := c.Forget(context.Background(), &runtimev1.ForgetRequest{Id: "planter"}); err != nil {
		t.Fatal(err)
	}
	if entries, _ := os.ReadDir(work); len(entries) > 0 {
		t.Errorf("%s holds %d entries after Forget, want none", work, len(entries))
	}
}
