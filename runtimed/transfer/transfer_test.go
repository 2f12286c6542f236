package transfer

import (
	"context"
	"errors"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	runtimev1 "krt.dev/krt/api/runtime/v1"
	krtv1 "krt.dev/krt/api/v1alpha1"
	"krt.dev/krt/runtimed/runtimeserver"
	"krt.dev/krt/runtimed/store"
	"krt.dev/krt/test/s3server"
)

// backends are the two kinds of ArtifactStore, each with the path of an
// object on disk, so a test can tamper with it as an attacker with write
// access to the bucket would.
var backends = []struct {
	name string
	open func(t *testing.T) (*store.Store, func(key string) string)
}{
	{"filesystem", func(t *testing.T) (*store.Store, func(string) string) {
		dir := t.TempDir()
		return open(t, store.Options{Name: "test/fs", Dir: dir}), func(k string) string { return filepath.Join(dir, filepath.FromSlash(k)) }
	}},
	{"s3", func(t *testing.T) (*store.Store, func(string) string) {
		srv := s3server.Start(t)
		st := open(t, store.Options{Name: "test/s3", S3: &store.S3{Bucket: srv.Bucket, Endpoint: srv.Endpoint, Region: srv.Region,
			ForcePathStyle: true, AccessKeyID: srv.AccessKey, SecretAccessKey: srv.SecretKey}})
		return st, srv.ObjectPath
	}},
}

func open(t *testing.T, o store.Options) *store.Store {
	t.Helper()
	st, err := store.Open(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	return st
}

// runtimeServer is a real krt-runtime on a unix socket.
func runtimeServer(t *testing.T) runtimev1.RuntimeClient {
	t.Helper()
	dir, err := os.MkdirTemp("", "krt-tr-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	srv, err := runtimeserver.New(runtimeserver.Options{WorkRoot: filepath.Join(dir, "work"), KillGrace: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	lis, err := net.Listen("unix", filepath.Join(dir, "rt.sock"))
	if err != nil {
		t.Fatal(err)
	}
	g := grpc.NewServer()
	runtimev1.RegisterRuntimeServer(g, srv)
	go g.Serve(lis)
	t.Cleanup(g.Stop)
	conn, err := grpc.NewClient("unix://"+lis.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return runtimev1.NewRuntimeClient(conn)
}

// run executes a script to its end and returns its stdout.
func run(t *testing.T, rc runtimev1.RuntimeClient, id, script string) string {
	t.Helper()
	stream, err := rc.Execute(context.Background(), &runtimev1.ExecuteRequest{Id: id, Script: script, Language: runtimev1.Language_LANGUAGE_BASH})
	if err != nil {
		t.Fatal(err)
	}
	var out strings.Builder
	for {
		ev, err := stream.Recv()
		if err != nil {
			break
		}
		if l := ev.GetLog(); l != nil {
			out.Write(l.GetData())
		}
		if x := ev.GetExit(); x != nil && x.GetCode() != 0 {
			t.Fatalf("%s exited %d: %s", id, x.GetCode(), out.String())
		}
	}
	return out.String()
}

const build = `mkdir -p dist/sub && printf 'binary\x00\x01' > dist/app && echo report > dist/sub/r.txt && chmod +x dist/app
ln -s /etc/passwd link && dd if=/dev/zero of=big bs=1k count=64 2>/dev/null`

// A folder goes from one execution to another byte for byte, on both
// backends; what an attacker changes in the store never reaches a step.
func TestMoveAFolder(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			st, onDisk := b.open(t)
			rc := runtimeServer(t)
			ctx := context.Background()
			run(t, rc, "build/1", build)
			ref, err := Collect(ctx, st, rc, &runtimev1.CollectRequest{Id: "build/1", Paths: []string{"dist"}, MaxBytes: 1 << 20, Contents: true})
			if err != nil {
				t.Fatal(err)
			}
			if err := Stage(ctx, st, rc, "deploy/1", ref.Digest, "in", 1<<20); err != nil {
				t.Fatal(err)
			}
			got := run(t, rc, "deploy/1", `sha256sum in/app in/sub/r.txt | cut -c1-16; test -x in/app && echo exec`)
			want := run(t, rc, "check/1", `printf 'binary\x00\x01' > app; echo report > r.txt; sha256sum app r.txt | cut -c1-16; echo exec`)
			if got != want {
				t.Errorf("the deploy step read\n%s\nwant\n%s", got, want)
			}

			data, err := os.ReadFile(onDisk(store.BlobKey(ref.Digest)))
			if err != nil {
				t.Fatal(err)
			}
			data[len(data)/2] ^= 0xff
			if err := os.WriteFile(onDisk(store.BlobKey(ref.Digest)), data, 0o644); err != nil {
				t.Fatal(err)
			}
			err = Stage(ctx, st, rc, "deploy/2", ref.Digest, "in", 1<<20)
			wantReason(t, err, krtv1.ReasonArtifactDigest, "digest")
			if out := run(t, rc, "deploy/2", `ls -A`); out != "" {
				t.Errorf("a tampered artifact reached the step: %q", out)
			}
		})
	}
}

// Bad input each gets its own reason, and a message that says what.
func TestBadArtifacts(t *testing.T) {
	st := open(t, store.Options{Name: "test/fs", Dir: t.TempDir()})
	rc := runtimeServer(t)
	ctx := context.Background()
	run(t, rc, "b/1", build)
	missing := store.Digest([]byte("never uploaded"))
	tests := []struct {
		name   string
		err    error
		reason string
		says   string
	}{
		{"missing artifact", Stage(ctx, st, rc, "d/1", missing, ".", 1<<20), krtv1.ReasonArtifactNotFound, "not found"},
		{"a path that escapes", collectErr(Collect(ctx, st, rc, &runtimev1.CollectRequest{Id: "b/1", Paths: []string{"../x"}, MaxBytes: 1 << 20})), krtv1.ReasonArtifactInvalid, "../x"},
		{"a symlink", collectErr(Collect(ctx, st, rc, &runtimev1.CollectRequest{Id: "b/1", Paths: []string{"link"}, MaxBytes: 1 << 20, Contents: true})), krtv1.ReasonArtifactInvalid, "symlink"},
		{"oversized", collectErr(Collect(ctx, st, rc, &runtimev1.CollectRequest{Id: "b/1", Paths: []string{"big"}, MaxBytes: 1 << 10, Contents: true})), krtv1.ReasonArtifactTooLarge, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { wantReason(t, tc.err, tc.reason, tc.says) })
	}
}

// An unreachable store fails fast with its own reason.
func TestUnreachableStore(t *testing.T) {
	st, err := store.Open(context.Background(), store.Options{Name: "test/down", S3: &store.S3{Bucket: "b", Endpoint: "http://127.0.0.1:1",
		Region: "us-east-1", ForcePathStyle: true, AccessKeyID: "k", SecretAccessKey: "s"}})
	if err != nil {
		wantReason(t, classify(err), krtv1.ReasonStoreUnreachable, "unreachable")
		return
	}
	defer st.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	began := time.Now()
	err = Stage(ctx, st, runtimeServer(t), "x/1", store.Digest([]byte("x")), ".", 1<<20)
	wantReason(t, err, krtv1.ReasonStoreUnreachable, "unreachable")
	if d := time.Since(began); d > 15*time.Second {
		t.Errorf("an unreachable store took %s to fail", d)
	}
}

func collectErr(_ Ref, err error) error { return err }

func wantReason(t *testing.T, err error, reason, says string) {
	t.Helper()
	var te *Error
	if !errors.As(err, &te) {
		t.Fatalf("err = %v, want a transfer error with reason %s", err, reason)
	}
	if te.Reason != reason || !strings.Contains(te.Error(), says) {
		t.Errorf("got %s: %v; want %s saying %q", te.Reason, te, reason, says)
	}
}
