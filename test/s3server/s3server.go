// Package s3server starts a real S3-compatible server for tests: versitygw
// (bin/versitygw, built by `make tools`) with its POSIX backend, which keeps
// each object as a plain file, so a test can also tamper with it on disk.
package s3server

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// Server is a running versitygw. The object "k" of Bucket is the file
// filepath.Join(Dir, Bucket, "k").
type Server struct {
	Endpoint             string // http://127.0.0.1:port
	Region               string
	Bucket               string
	AccessKey, SecretKey string
	Dir                  string // the POSIX backend's root
}

// startTimeout bounds the wait for the gateway to answer; it starts in well
// under a second, but the machine may be busy.
const startTimeout = 30 * time.Second

// Start runs versitygw on a free port of 127.0.0.1 with a temporary
// directory, creates a bucket, and stops it when the test ends. Without
// bin/versitygw the test fails, saying to run `make tools`.
func Start(t testing.TB) *Server {
	t.Helper()
	bin := binary(t)
	s := &Server{
		Region: "us-east-1", Bucket: "krt-test",
		AccessKey: "krtroot", SecretKey: "krtroot-secret-key",
		Dir: t.TempDir(),
	}
	port := freePort(t)
	s.Endpoint = "http://127.0.0.1:" + strconv.Itoa(port)
	log := &syncBuffer{}
	cmd := exec.Command(bin, "--port", "127.0.0.1:"+strconv.Itoa(port),
		"--access", s.AccessKey, "--secret", s.SecretKey, "--region", s.Region,
		"posix", s.Dir)
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Start(); err != nil {
		t.Fatalf("s3server: starting %s: %v", bin, err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-exited
	})
	if err := s.createBucket(exited); err != nil {
		t.Fatalf("s3server: versitygw on %s: %v\n%s", s.Endpoint, err, log.String())
	}
	return s
}

// createBucket retries until the gateway answers, which is also how Start
// knows that it is ready.
func (s *Server) createBucket(exited <-chan error) error {
	ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
	defer cancel()
	c := s.Client()
	for {
		_, err := c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(s.Bucket)})
		if err == nil {
			return nil
		}
		select {
		case werr := <-exited:
			return fmt.Errorf("exited: %v", werr)
		case <-ctx.Done():
			return fmt.Errorf("not ready after %s: %w", startTimeout, err)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// Client is an S3 client of the server, as root.
func (s *Server) Client() *s3.Client {
	return s3.New(s3.Options{
		Region:       s.Region,
		BaseEndpoint: aws.String(s.Endpoint),
		UsePathStyle: true,
		Credentials:  credentials.NewStaticCredentialsProvider(s.AccessKey, s.SecretKey, ""),
	})
}

// ObjectPath is the file that holds key.
func (s *Server) ObjectPath(key string) string {
	return filepath.Join(s.Dir, s.Bucket, filepath.FromSlash(key))
}

func binary(t testing.TB) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			break
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("s3server: no go.mod above the working directory")
		}
		dir = parent
	}
	bin := filepath.Join(dir, "bin", "versitygw")
	if _, err := os.Stat(bin); err != nil {
		t.Fatalf("s3server: bin/versitygw is missing: run `make tools` to build it (%v)", err)
	}
	return bin
}

// freePort asks the kernel for a port that is free now; versitygw binds it
// a moment later, which another process could race for, but rarely does.
func freePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// syncBuffer is the gateway's output, which its copying goroutine writes
// while a failing Start reads it.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
