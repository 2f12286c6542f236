package runtimeserver

import (
	"context"
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
	"google.golang.org/protobuf/types/known/durationpb"

	runtimev1 "krt.dev/krt/api/runtime/v1"
)

// serve starts a real Server on a unix socket and returns a client for it.
func serve(t *testing.T) (runtimev1.RuntimeClient, string) {
	t.Helper()
	dir, err := os.MkdirTemp("", "krt-rt-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	srv, err := New(Options{WorkRoot: filepath.Join(dir, "work"), KillGrace: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	sock := filepath.Join(dir, "rt.sock")
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
	return runtimev1.NewRuntimeClient(conn), filepath.Join(dir, "work")
}

type outcome struct {
	started *runtimev1.Started
	stdout  string
	stderr  string
	outputs *runtimev1.Outputs
	exit    *runtimev1.Exit
	order   []string
}

func execute(t *testing.T, c runtimev1.RuntimeClient, req *runtimev1.ExecuteRequest) outcome {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	stream, err := c.Execute(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	var o outcome
	for {
		ev, err := stream.Recv()
		if err == io.EOF {
			return o
		}
		if err != nil {
			t.Fatalf("Execute: %v", err)
		}
		switch e := ev.Event.(type) {
		case *runtimev1.ExecuteEvent_Started:
			o.started = e.Started
			o.order = append(o.order, "started")
		case *runtimev1.ExecuteEvent_Log:
			if e.Log.Stream == runtimev1.Stream_STREAM_STDERR {
				o.stderr += string(e.Log.Data)
			} else {
				o.stdout += string(e.Log.Data)
			}
			if o.order[len(o.order)-1] != "log" {
				o.order = append(o.order, "log")
			}
		case *runtimev1.ExecuteEvent_Outputs:
			o.outputs = e.Outputs
			o.order = append(o.order, "outputs")
		case *runtimev1.ExecuteEvent_Exit:
			o.exit = e.Exit
			o.order = append(o.order, "exit")
		}
	}
}

func TestExecute(t *testing.T) {
	c, _ := serve(t)
	t.Setenv("KRT_TEST_CONTAINER_VAR", "from-container")
	t.Setenv("KRT_TEST_SHARED", "container")
	// A tool the Run's PATH has and the server's does not, as a step that
	// installs its own tools has.
	tools := t.TempDir()
	if err := os.WriteFile(filepath.Join(tools, "krt-run-tool"), []byte("#!/bin/sh\necho tool $1\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name       string
		req        *runtimev1.ExecuteRequest
		wantCode   int32
		wantReason runtimev1.ExitReason
		wantStdout string
		wantStderr string
		wantOut    map[string]string
	}{
		{
			name:       "bash with outputs",
			req:        &runtimev1.ExecuteRequest{Language: runtimev1.Language_LANGUAGE_BASH, Script: "echo hi\necho 'k=v' >> $KRT_OUTPUTS"},
			wantReason: runtimev1.ExitReason_EXIT_REASON_EXITED, wantStdout: "hi\n", wantOut: map[string]string{"k": "v"},
		},
		{
			name:     "python",
			req:      &runtimev1.ExecuteRequest{Language: runtimev1.Language_LANGUAGE_PYTHON, Script: "import sys\nprint('py')\nsys.exit(4)"},
			wantCode: 4, wantReason: runtimev1.ExitReason_EXIT_REASON_EXITED, wantStdout: "py\n",
		},
		{
			name:     "bash stops at the first failing command",
			req:      &runtimev1.ExecuteRequest{Script: "false\necho unreachable"},
			wantCode: 1, wantReason: runtimev1.ExitReason_EXIT_REASON_EXITED,
		},
		{
			name: "run env wins over container env",
			req: &runtimev1.ExecuteRequest{Script: `echo "$KRT_TEST_CONTAINER_VAR $KRT_TEST_SHARED"`,
				Env: map[string]string{"KRT_TEST_SHARED": "run"}},
			wantReason: runtimev1.ExitReason_EXIT_REASON_EXITED, wantStdout: "from-container run\n",
		},
		{
			name:       "command",
			req:        &runtimev1.ExecuteRequest{Command: []string{"sh", "-c", "echo $0 >&2"}, Args: []string{"arg0"}},
			wantReason: runtimev1.ExitReason_EXIT_REASON_EXITED, wantStderr: "arg0\n",
		},
		{
			name: "command on the Run's PATH only",
			req: &runtimev1.ExecuteRequest{Command: []string{"krt-run-tool", "ran"},
				Env: map[string]string{"PATH": tools + ":" + os.Getenv("PATH")}},
			wantReason: runtimev1.ExitReason_EXIT_REASON_EXITED, wantStdout: "tool ran\n",
		},
		{
			name:     "missing command",
			req:      &runtimev1.ExecuteRequest{Command: []string{"no-such-command-krt"}},
			wantCode: 127, wantReason: runtimev1.ExitReason_EXIT_REASON_START_FAILED,
			wantStderr: "\"no-such-command-krt\" not found in PATH\n",
		},
		{
			name:     "timeout",
			req:      &runtimev1.ExecuteRequest{Script: "sleep 30", Timeout: durationpb.New(200 * time.Millisecond)},
			wantCode: 128 + int32(syscall.SIGTERM), wantReason: runtimev1.ExitReason_EXIT_REASON_TIMEOUT,
		},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tc.req.Id = "run-" + string(rune('a'+i)) + "/1"
			o := execute(t, c, tc.req)
			if o.exit.GetCode() != tc.wantCode || o.exit.GetReason() != tc.wantReason {
				t.Errorf("exit = %d %v, want %d %v (%s)", o.exit.GetCode(), o.exit.GetReason(), tc.wantCode, tc.wantReason, o.exit.GetMessage())
			}
			if o.stdout != tc.wantStdout || (tc.wantStderr != "" && o.stderr != tc.wantStderr) {
				t.Errorf("stdout, stderr = %q, %q; want %q, %q", o.stdout, o.stderr, tc.wantStdout, tc.wantStderr)
			}
			for k, v := range tc.wantOut {
				if o.outputs.GetValues()[k] != v {
					t.Errorf("outputs[%s] = %q, want %q", k, o.outputs.GetValues()[k], v)
				}
			}
			if o.order[0] != "started" || strings.Join(o.order[len(o.order)-2:], ",") != "outputs,exit" {
				t.Errorf("events in order %v, want started, logs, outputs, exit", o.order)
			}
		})
	}
}

func TestEachExecutionHasItsOwnWorkdirRemovedOnForget(t *testing.T) {
	c, root := serve(t)
	first := execute(t, c, &runtimev1.ExecuteRequest{Id: "u/1", Script: "pwd; touch left-behind"})
	second := execute(t, c, &runtimev1.ExecuteRequest{Id: "u/2", Script: "pwd; ls"})
	if first.stdout == second.stdout {
		t.Fatalf("both attempts ran in %s", first.stdout)
	}
	if strings.Contains(second.stdout, "left-behind") {
		t.Fatal("the second attempt saw the first attempt's files")
	}
	if _, err := c.Forget(context.Background(), &runtimev1.ForgetRequest{Id: "u/1"}); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(strings.TrimSpace(first.stdout)); !os.IsNotExist(err) {
		t.Fatalf("the working directory survived Forget: %v", err)
	}
	if _, err := c.Status(context.Background(), &runtimev1.StatusRequest{Id: "u/1"}); status.Code(err) != codes.NotFound {
		t.Fatalf("Status after Forget: %v, want NotFound", err)
	}
	entries, _ := os.ReadDir(root)
	if len(entries) != 1 {
		t.Fatalf("work root holds %d directories, want only the unforgotten one", len(entries))
	}
}

func TestCancelKillsTheProcessGroupAndAttachResumes(t *testing.T) {
	c, _ := serve(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	// A child that ignores SIGTERM must still die: SIGKILL follows.
	stream, err := c.Execute(ctx, &runtimev1.ExecuteRequest{Id: "c/1",
		Script: "bash -c 'trap \"\" TERM; echo child $$; sleep 60' &\nsleep 60"})
	if err != nil {
		t.Fatal(err)
	}
	var childPID int
	for childPID == 0 {
		ev, err := stream.Recv()
		if err != nil {
			t.Fatal(err)
		}
		if l := ev.GetLog(); l != nil {
			childPID, _ = strconv.Atoi(strings.TrimSpace(strings.TrimPrefix(string(l.Data), "child ")))
		}
	}
	// A second caller (runtimed after a restart) attaches to the same id
	// and gets the output from the start.
	attached := make(chan outcome)
	go func() { attached <- execute(t, c, &runtimev1.ExecuteRequest{Id: "c/1", AttachOnly: true}) }()
	resp, err := c.Cancel(ctx, &runtimev1.CancelRequest{Id: "c/1", GracePeriod: durationpb.New(300 * time.Millisecond)})
	if err != nil || !resp.Found {
		t.Fatalf("Cancel = %v, %v", resp, err)
	}
	o := <-attached
	if !o.started.GetAttached() || !strings.HasPrefix(o.stdout, "child ") {
		t.Errorf("attach: started %+v, stdout %q; want an attached start and the output so far", o.started, o.stdout)
	}
	if o.exit.GetReason() != runtimev1.ExitReason_EXIT_REASON_CANCELLED {
		t.Errorf("exit reason = %v, want CANCELLED", o.exit.GetReason())
	}
	if alive(childPID) {
		t.Fatalf("child %d ignored SIGTERM and survived the cancel", childPID)
	}
}

// alive reports whether a process exists and is not a zombie.
func alive(pid int) bool {
	data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	return err == nil && !strings.Contains(string(data), "State:\tZ")
}

func TestAttachUnknownIsNotFound(t *testing.T) {
	c, _ := serve(t)
	stream, err := c.Execute(context.Background(), &runtimev1.ExecuteRequest{Id: "nope/1", AttachOnly: true})
	if err == nil {
		_, err = stream.Recv()
	}
	if status.Code(err) != codes.NotFound {
		t.Fatalf("attach to an unknown id: %v, want NotFound", err)
	}
}
