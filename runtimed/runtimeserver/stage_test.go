package runtimeserver

import (
	"archive/tar"
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/klauspost/compress/zstd"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	runtimev1 "krt.dev/krt/api/runtime/v1"
	"krt.dev/krt/runtimed/archive"
)

// packFiles packs files (a trailing "*" on a name makes it executable) as
// runtimed would after a download.
func packFiles(t *testing.T, files map[string]string) []byte {
	t.Helper()
	dir := t.TempDir()
	for name, content := range files {
		mode := os.FileMode(0o644)
		if n, ok := strings.CutSuffix(name, "*"); ok {
			name, mode = n, 0o755
		}
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), mode); err != nil {
			t.Fatal(err)
		}
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer root.Close()
	var buf bytes.Buffer
	if _, err := archive.Pack(&buf, root, []string{"."}, archive.PackOptions{}); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// hostile builds a tar.zst with one entry of any kind, as Pack never would.
func hostile(t *testing.T, h tar.Header) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw, _ := zstd.NewWriter(&buf)
	tw := tar.NewWriter(zw)
	if err := tw.WriteHeader(&h); err != nil {
		t.Fatal(err)
	}
	tw.Write(make([]byte, h.Size))
	tw.Close()
	zw.Close()
	return buf.Bytes()
}

// stage sends one archive in small chunks, so the server unpacks as they
// arrive, and ends with commit.
func stage(t *testing.T, c runtimev1.RuntimeClient, h *runtimev1.StageHeader, data []byte, commit bool) (*runtimev1.StageResponse, error) {
	t.Helper()
	if !commit {
		return stageEnd(c, h, data, 4096, false)
	}
	return stageChunks(c, h, data, 4096)
}

// stageChunks stages data in chunks of size and commits.
func stageChunks(c runtimev1.RuntimeClient, h *runtimev1.StageHeader, data []byte, size int) (*runtimev1.StageResponse, error) {
	return stageEnd(c, h, data, size, true)
}

func stageEnd(c runtimev1.RuntimeClient, h *runtimev1.StageHeader, data []byte, size int, commit bool) (*runtimev1.StageResponse, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s, err := c.Stage(ctx)
	if err != nil {
		return nil, err
	}
	msgs := []*runtimev1.StageRequest{{Msg: &runtimev1.StageRequest_Header{Header: h}}}
	for len(data) > 0 {
		n := min(len(data), size)
		msgs = append(msgs, &runtimev1.StageRequest{Msg: &runtimev1.StageRequest_Data{Data: data[:n]}})
		data = data[n:]
	}
	msgs = append(msgs, &runtimev1.StageRequest{Msg: &runtimev1.StageRequest_End{End: &runtimev1.StageEnd{Commit: commit}}})
	for _, m := range msgs {
		if err := s.Send(m); err != nil {
			break // the server has answered; CloseAndRecv says how
		}
	}
	return s.CloseAndRecv()
}

// execDir is where an id's directory lives under the server's work root.
func execDir(root, id string) string { return filepath.Join(root, dirName(id)) }

// assertClean checks that no staging folder is left and, when empty, that
// nothing reached work/.
func assertClean(t *testing.T, dir string, empty bool) {
	t.Helper()
	left, _ := filepath.Glob(filepath.Join(dir, "stage-*"))
	if len(left) > 0 {
		t.Errorf("staging folders left: %v", left)
	}
	if ents, _ := os.ReadDir(filepath.Join(dir, "work")); empty && len(ents) > 0 {
		t.Errorf("work/ holds %d entries", len(ents))
	}
}

func TestStageThenExecute(t *testing.T) {
	c, root := serve(t)
	in := packFiles(t, map[string]string{"a.txt": "hello\n", "bin/run*": "#!/bin/sh\necho ran\n"})
	resp, err := stage(t, c, &runtimev1.StageHeader{Id: "s/1", Path: "inputs/build"}, in, true)
	if err != nil {
		t.Fatal(err)
	}
	if resp.Files != 2 || resp.Bytes != int64(len("hello\n")+len("#!/bin/sh\necho ran\n")) {
		t.Errorf("response %+v", resp)
	}
	// A second input merges into the folders the first made.
	more := packFiles(t, map[string]string{"inputs/other.txt": "other\n"})
	if _, err := stage(t, c, &runtimev1.StageHeader{Id: "s/1"}, more, true); err != nil {
		t.Fatal(err)
	}
	o := execute(t, c, &runtimev1.ExecuteRequest{Id: "s/1", Script: "cat inputs/build/a.txt inputs/other.txt; inputs/build/bin/run"})
	if o.exit.GetCode() != 0 || o.stdout != "hello\nother\nran\n" {
		t.Fatalf("exit %v, stdout %q, stderr %q", o.exit, o.stdout, o.stderr)
	}
	assertClean(t, execDir(root, "s/1"), false)
}

func TestStageCommitFalseLeavesNothing(t *testing.T) {
	c, root := serve(t)
	if _, err := stage(t, c, &runtimev1.StageHeader{Id: "s/1"}, packFiles(t, map[string]string{"a": "a"}), false); err != nil {
		t.Fatal(err)
	}
	assertClean(t, execDir(root, "s/1"), true)
	o := execute(t, c, &runtimev1.ExecuteRequest{Id: "s/1", Script: "ls -A"})
	if o.stdout != "" {
		t.Fatalf("work/ holds %q", o.stdout)
	}
}

// TestStageBrokenStream: a caller gone mid-archive stages nothing.
func TestStageBrokenStream(t *testing.T) {
	c, root := serve(t)
	ctx, cancel := context.WithCancel(context.Background())
	s, err := c.Stage(ctx)
	if err != nil {
		t.Fatal(err)
	}
	data := packFiles(t, map[string]string{"a": strings.Repeat("a", 100_000)})
	s.Send(&runtimev1.StageRequest{Msg: &runtimev1.StageRequest_Header{Header: &runtimev1.StageHeader{Id: "s/1"}}})
	s.Send(&runtimev1.StageRequest{Msg: &runtimev1.StageRequest_Data{Data: data[:len(data)/2]}})
	// The server has the header once Execute is told staging is under way.
	waitFor(t, func() bool {
		_, err := c.Forget(context.Background(), &runtimev1.ForgetRequest{Id: "s/1"})
		return status.Code(err) == codes.FailedPrecondition
	})
	cancel()
	waitFor(t, func() bool {
		left, _ := filepath.Glob(filepath.Join(execDir(root, "s/1"), "stage-*"))
		return len(left) == 0
	})
	assertClean(t, execDir(root, "s/1"), true)
}

func waitFor(t *testing.T, ok func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); !ok(); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("timed out")
		}
	}
}

func TestStageRefuses(t *testing.T) {
	c, root := serve(t)
	good := packFiles(t, map[string]string{"a": strings.Repeat("a", 100)})
	if _, err := stage(t, c, &runtimev1.StageHeader{Id: "conflict"}, good, true); err != nil {
		t.Fatal(err)
	}
	execute(t, c, &runtimev1.ExecuteRequest{Id: "started", Command: []string{"true"}})
	cases := []struct {
		name string
		h    *runtimev1.StageHeader
		data []byte
		code codes.Code
		msg  string
	}{
		{"symlink entry", &runtimev1.StageHeader{Id: "x"}, hostile(t, tar.Header{Typeflag: tar.TypeSymlink, Name: "ln", Linkname: "/etc"}), codes.InvalidArgument, `"ln" is a symlink`},
		{"escaping entry", &runtimev1.StageHeader{Id: "x"}, hostile(t, tar.Header{Typeflag: tar.TypeReg, Name: "../x", Size: 1}), codes.InvalidArgument, `"../x" has a ".."`},
		{"not an archive", &runtimev1.StageHeader{Id: "x"}, []byte("plain text"), codes.InvalidArgument, "not a valid tar.zst"},
		{"escaping path", &runtimev1.StageHeader{Id: "x", Path: "../up"}, good, codes.InvalidArgument, `path "../up" must stay inside`},
		{"absolute path", &runtimev1.StageHeader{Id: "x", Path: "/etc"}, good, codes.InvalidArgument, `path "/etc" must stay inside`},
		{"oversize", &runtimev1.StageHeader{Id: "x", MaxBytes: 10}, good, codes.ResourceExhausted, "limit of 10 bytes"},
		{"no id", &runtimev1.StageHeader{}, good, codes.InvalidArgument, "a header with an id"},
		{"already started", &runtimev1.StageHeader{Id: "started"}, good, codes.FailedPrecondition, "already started"},
		{"would overwrite", &runtimev1.StageHeader{Id: "conflict"}, good, codes.AlreadyExists, "work/a already exists"},
		{"file where a folder goes", &runtimev1.StageHeader{Id: "conflict", Path: "a/b"}, good, codes.AlreadyExists, "work/a exists and is not a folder"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := stage(t, c, tc.h, tc.data, true)
			if status.Code(err) != tc.code || !strings.Contains(err.Error(), tc.msg) {
				t.Fatalf("got %v, want %v naming %q", err, tc.code, tc.msg)
			}
			if tc.h.Id == "x" {
				assertClean(t, execDir(root, "x"), true)
			}
		})
	}
	if b, err := os.ReadFile(filepath.Join(execDir(root, "conflict"), "work", "a")); err != nil || len(b) != 100 {
		t.Errorf("the refused commit touched work/a: %q, %v", b, err)
	}
}
