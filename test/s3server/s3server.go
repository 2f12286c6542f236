// Package s3server starts a real S3-compatible server for tests: versitygw
// (bin/versitygw, built by `make tools`) with its POSIX backend, which keeps
// each object as a plain file, so a test can also tamper with it on disk.
package s3server

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"krt.dev/krt/runtimed/localpool"
)

// Server is a running versitygw. The object "k" of Bucket is the file
// filepath.Join(Dir, Bucket, "k").
type Server struct {
	Endpoint             string // http://127.0.0.1:port
	Region               string
	Bucket               string
	AccessKey, SecretKey string
	Dir                  string // the POSIX backend's root

	cmd    *exec.Cmd
	exited chan error
}

// startTimeout bounds the wait for the gateway to answer; it starts in well
// under a second, but the machine may be busy.
const startTimeout = 30 * time.Second

// Start runs versitygw on a free port of 127.0.0.1 with a temporary
// directory, creates a bucket, and stops it when the test ends. Without
// bin/versitygw the test fails, saying to run `make tools`.
func Start(t testing.TB) *Server {
	t.Helper()
	s, err := Run(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Stop)
	return s
}

// Run is Start outside a test (the bench): versitygw keeps its objects in
// dir, and runs until Stop.
func Run(dir string) (*Server, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	bin, err := binary()
	if err != nil {
		return nil, err
	}
	// Not kubetest.FreeAddress: kubetest imports what imports the store,
	// whose tests start this server.
	addr, err := localpool.FreeAddress()
	if err != nil {
		return nil, err
	}
	s := &Server{
		Region: "us-east-1", Bucket: "krt-test",
		AccessKey: "krtroot", SecretKey: "krtroot-secret-key",
		Dir: dir, Endpoint: "http://" + addr,
	}
	log := &syncBuffer{}
	s.cmd = exec.Command(bin, "--port", addr,
		"--access", s.AccessKey, "--secret", s.SecretKey, "--region", s.Region,
		"posix", s.Dir)
	s.cmd.Stdout, s.cmd.Stderr = log, log
	if err := s.cmd.Start(); err != nil {
		return nil, fmt.Errorf("s3server: starting %s: %v", bin, err)
	}
	s.exited = make(chan error, 1)
	go func() { s.exited <- s.cmd.Wait() }()
	if err := s.createBucket(s.exited); err != nil {
		s.Stop()
		return nil, fmt.Errorf("s3server: versitygw on %s: %v\n%s", s.Endpoint, err, log.String())
	}
	return s, nil
}

// Stop kills the server and waits for it.
func (s *Server) Stop() {
	_ = s.cmd.Process.Kill()
	<-s.exited
	s.exited <- nil // a second Stop returns at once
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

func binary() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			break
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("s3server: no go.mod above the working directory")
		}
		dir = parent
	}
	bin := filepath.Join(dir, "bin", "versitygw")
	if _, err := os.Stat(bin); err != nil {
		return "", fmt.Errorf("s3server: bin/versitygw is missing: run `make tools` to build it (%v)", err)
	}
	return bin, nil
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
