package runtimeserver

import (
	"context"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	runtimev1 "krt.dev/krt/api/runtime/v1"
)

// TestArtifactsExclusive: on an exclusive server, staging waits for no
// running execution (whose sweep would wipe it); Collect works after the
// sweep, which keeps the Run's own directory, and not once the next Run
// is admitted, which removes it.
func TestArtifactsExclusive(t *testing.T) {
	root := t.TempDir()
	c := serveIsolated(t, Options{WorkRoot: root, Isolation: Exclusive, KillGrace: time.Second})
	in := packFiles(t, map[string]string{"a.txt": "staged\n"})
	if _, err := stage(t, c, &runtimev1.StageHeader{Id: "e/1"}, in, true); err != nil {
		t.Fatal(err)
	}
	if o := execute(t, c, &runtimev1.ExecuteRequest{Id: "e/1", Script: "cat a.txt"}); o.stdout != "staged\n" {
		t.Fatalf("stdout %q, stderr %q", o.stdout, o.stderr)
	}
	if _, _, _, err := collect(t, c, &runtimev1.CollectRequest{Id: "e/1", Paths: []string{"a.txt"}}); err != nil {
		t.Fatalf("Collect after the sweep: %v", err)
	}

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if _, err := c.Execute(ctx, &runtimev1.ExecuteRequest{Id: "e/2", Command: []string{"sleep", "30"}}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool {
		_, err := c.Status(context.Background(), &runtimev1.StatusRequest{Id: "e/2"})
		return err == nil
	})
	defer c.Cancel(context.Background(), &runtimev1.CancelRequest{Id: "e/2"})
	_, _, _, err := collect(t, c, &runtimev1.CollectRequest{Id: "e/1", Paths: []string{"a.txt"}})
	if status.Code(err) != codes.FailedPrecondition || !strings.Contains(err.Error(), "working directory is gone") {
		t.Fatalf("Collect of the last Run once the next started: %v", err)
	}
	_, err = stage(t, c, &runtimev1.StageHeader{Id: "e/3"}, in, true)
	if status.Code(err) != codes.FailedPrecondition || !strings.Contains(err.Error(), "one Run at a time") {
		t.Fatalf("Stage while another runs: %v", err)
	}
}

// TestForgetStaged: Forget drops what was staged for an execution that
// will never start.
func TestForgetStaged(t *testing.T) {
	c, root := serve(t)
	if _, err := stage(t, c, &runtimev1.StageHeader{Id: "f/1"}, packFiles(t, map[string]string{"a": "a"}), true); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Forget(context.Background(), &runtimev1.ForgetRequest{Id: "f/1"}); err != nil {
		t.Fatal(err)
	}
	assertClean(t, execDir(root, "f/1"), true)
	if o := execute(t, c, &runtimev1.ExecuteRequest{Id: "f/1", Script: "ls -A"}); o.stdout != "" {
		t.Fatalf("work/ holds %q after Forget", o.stdout)
	}
}
