package runtimeserver

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	runtimev1 "krt.dev/krt/api/runtime/v1"
	"krt.dev/krt/runtimed/archive"
)

// collect reads a whole Collect stream: its header and the archive.
func collect(t *testing.T, c runtimev1.RuntimeClient, req *runtimev1.CollectRequest) (*runtimev1.CollectHeader, []byte, int, error) {
	t.Helper()
	var data bytes.Buffer
	h, chunks, err := collectTo(c, req, &data)
	return h, data.Bytes(), chunks, err
}

// collectTo writes a Collect stream's archive to w, and counts its chunks.
func collectTo(c runtimev1.RuntimeClient, req *runtimev1.CollectRequest, w io.Writer) (*runtimev1.CollectHeader, int, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s, err := c.Collect(ctx, req)
	if err != nil {
		return nil, 0, err
	}
	var h *runtimev1.CollectHeader
	chunks := 0
	for {
		m, err := s.Recv()
		if err == io.EOF {
			return h, chunks, nil
		}
		if err != nil {
			return nil, 0, err
		}
		if m.GetHeader() != nil {
			h = m.GetHeader()
			continue
		}
		if h == nil {
			return nil, 0, errors.New("data before the header")
		}
		w.Write(m.GetData())
		chunks++
	}
}

// script makes out/ with an executable, a nested file and 3 MiB of
// incompressible data, so the archive spans several chunks.
const script = `mkdir -p out/bin out/deep/er
printf 'report\n' > out/deep/er/report.txt
printf '#!/bin/sh\necho hi\n' > out/bin/tool && chmod +x out/bin/tool
head -c 3145728 /dev/urandom > out/blob
echo not collected > elsewhere.txt`

func TestCollectAfterExit(t *testing.T) {
	c, root := serve(t)
	if o := execute(t, c, &runtimev1.ExecuteRequest{Id: "c/1", Script: script}); o.exit.GetCode() != 0 {
		t.Fatalf("exit %v: %s", o.exit, o.stderr)
	}
	h, data, chunks, err := collect(t, c, &runtimev1.CollectRequest{Id: "c/1", Paths: []string{"out"}})
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(data)
	if h.Digest != "sha256:"+hex.EncodeToString(sum[:]) || h.Size != int64(len(data)) || h.Files != 3 {
		t.Errorf("header %+v for %d bytes", h, len(data))
	}
	if chunks < 3 {
		t.Errorf("%d chunks for %d bytes: want 1 MiB chunks", chunks, len(data))
	}
	dest := t.TempDir()
	r, _ := os.OpenRoot(dest)
	defer r.Close()
	if _, err := archive.Unpack(bytes.NewReader(data), r, archive.UnpackOptions{}); err != nil {
		t.Fatal(err)
	}
	work := filepath.Join(execDir(root, "c/1"), "work")
	for _, name := range []string{"out/deep/er/report.txt", "out/bin/tool", "out/blob"} {
		want, _ := os.ReadFile(filepath.Join(work, name))
		got, err := os.ReadFile(filepath.Join(dest, name))
		if err != nil || !bytes.Equal(got, want) {
			t.Errorf("%s: %d bytes, want %d (%v)", name, len(got), len(want), err)
		}
	}
	if fi, err := os.Stat(filepath.Join(dest, "out/bin/tool")); err != nil || fi.Mode()&0o100 == 0 {
		t.Errorf("out/bin/tool lost its exec bit: %v", fi)
	}
	if _, err := os.Stat(filepath.Join(dest, "elsewhere.txt")); err == nil {
		t.Error("collected a path not asked for")
	}
	if left, _ := filepath.Glob(filepath.Join(execDir(root, "c/1"), "collect-*")); len(left) > 0 {
		t.Errorf("temporary files left: %v", left)
	}
	// The same content collects to the same digest.
	if again, _, _, _ := collect(t, c, &runtimev1.CollectRequest{Id: "c/1", Paths: []string{"out"}}); again.GetDigest() != h.Digest {
		t.Errorf("digest changed: %s, then %s", h.Digest, again.GetDigest())
	}
}

func TestCollectRefuses(t *testing.T) {
	c, _ := serve(t)
	execute(t, c, &runtimev1.ExecuteRequest{Id: "c/1", Script: "mkdir d; echo x > d/f; ln -s d/f link; ln -s /etc d/etc; head -c 2000 /dev/zero > big"})
	running, cancel := context.WithCancel(context.Background())
	defer cancel()
	if _, err := c.Execute(running, &runtimev1.ExecuteRequest{Id: "run", Command: []string{"sleep", "30"}}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool {
		_, err := c.Status(context.Background(), &runtimev1.StatusRequest{Id: "run"})
		return err == nil
	})
	defer c.Cancel(context.Background(), &runtimev1.CancelRequest{Id: "run"})
	cases := []struct {
		name string
		req  *runtimev1.CollectRequest
		code codes.Code
		msg  string
	}{
		{"unknown id", &runtimev1.CollectRequest{Id: "nope", Paths: []string{"."}}, codes.NotFound, `"nope" is not known`},
		{"running", &runtimev1.CollectRequest{Id: "run", Paths: []string{"."}}, codes.FailedPrecondition, "still running"},
		{"escaping", &runtimev1.CollectRequest{Id: "c/1", Paths: []string{"../secrets"}}, codes.InvalidArgument, "../secrets escapes the working directory"},
		{"absolute", &runtimev1.CollectRequest{Id: "c/1", Paths: []string{"/etc"}}, codes.InvalidArgument, "/etc is absolute"},
		{"missing", &runtimev1.CollectRequest{Id: "c/1", Paths: []string{"d", "gone"}}, codes.InvalidArgument, "gone does not exist"},
		{"symlink", &runtimev1.CollectRequest{Id: "c/1", Paths: []string{"link"}}, codes.InvalidArgument, "link is a symlink"},
		{"symlink inside", &runtimev1.CollectRequest{Id: "c/1", Paths: []string{"d"}}, codes.InvalidArgument, "d/etc is a symlink"},
		{"too large", &runtimev1.CollectRequest{Id: "c/1", Paths: []string{"big"}, MaxBytes: 1000}, codes.ResourceExhausted, "limit of 1000 bytes"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, _, _, err := collect(t, c, tc.req)
			if status.Code(err) != tc.code || !strings.Contains(err.Error(), tc.msg) {
				t.Fatalf("got %v, want %v naming %q", err, tc.code, tc.msg)
			}
		})
	}
}
