package store

import (
	"bytes"
	"context"
	"errors"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"krt.dev/krt/test/s3server"
)

func openServer(t *testing.T, srv *s3server.Server, bucket string) *Store {
	return mustOpen(t, Options{Name: "ns/store", S3: &S3{
		Bucket: bucket, Endpoint: srv.Endpoint, Region: srv.Region, ForcePathStyle: true,
		AccessKeyID: srv.AccessKey, SecretAccessKey: srv.SecretKey,
	}})
}

// TestPutBlobMismatchAbortsMultipart: a 40 MiB upload goes in parts; a
// mismatch at its end aborts the multipart upload, leaving no parts behind.
func TestPutBlobMismatchAbortsMultipart(t *testing.T) {
	srv := s3server.Start(t)
	s := openServer(t, srv, srv.Bucket)
	b := randomBytes(t, 40<<20)
	_, err := s.PutBlob(context.Background(), Digest([]byte("other")), int64(len(b)), bytes.NewReader(b))
	if !errors.Is(err, ErrDigestMismatch) {
		t.Fatalf("PutBlob: %v", err)
	}
	out, err := srv.Client().ListMultipartUploads(context.Background(), &s3.ListMultipartUploadsInput{Bucket: aws.String(srv.Bucket)})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Uploads) != 0 {
		t.Fatalf("%d multipart uploads left", len(out.Uploads))
	}
}

// TestPutRecordIfAbsentRace: of writers racing for one key, exactly one
// wins, since versitygw honours If-None-Match.
func TestPutRecordIfAbsentRace(t *testing.T) {
	eachBackend(t, func(t *testing.T, s *Store, _ func(string) string) {
		var wins atomic.Int32
		var wg sync.WaitGroup
		for i := range 8 {
			wg.Go(func() {
				w, err := s.PutRecord(context.Background(), "memo/race", MemoRecord{Outputs: map[string]string{"i": string(rune('a' + i))}}, true)
				if err != nil {
					t.Error(err)
				}
				if w {
					wins.Add(1)
				}
			})
		}
		wg.Wait()
		if n := wins.Load(); n != 1 {
			t.Fatalf("%d writers won", n)
		}
	})
}

// TestMissingBucket is a clear misconfiguration, not ErrNotFound.
func TestMissingBucket(t *testing.T) {
	srv := s3server.Start(t)
	s := openServer(t, srv, "no-such-bucket")
	_, _, err := s.GetBlob(context.Background(), Digest([]byte("x")))
	if err == nil || errors.Is(err, ErrNotFound) || !strings.Contains(err.Error(), "the bucket does not exist") {
		t.Fatalf("GetBlob from a missing bucket: %v", err)
	}
}

// TestSilentServer: a server that accepts connections and never answers
// fails the call at the caller's deadline, as ErrUnreachable.
func TestSilentServer(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			defer c.Close()
		}
	}()
	s := mustOpen(t, Options{S3: &S3{Bucket: "b", Endpoint: "http://" + l.Addr().String(), ForcePathStyle: true,
		AccessKeyID: "a", SecretAccessKey: "s"}})
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	start := time.Now()
	_, err = s.Has(ctx, Digest([]byte("x")))
	if !errors.Is(err, ErrUnreachable) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Has: %v", err)
	}
	if took := time.Since(start); took > 3*time.Second {
		t.Fatalf("Has took %s", took)
	}
}

// TestWrongCredentials is refused, and says so: neither unreachable nor
// not found.
func TestWrongCredentials(t *testing.T) {
	srv := s3server.Start(t)
	srv.SecretKey = "wrong"
	s := openServer(t, srv, srv.Bucket)
	_, err := s.Has(context.Background(), Digest([]byte("x")))
	if err == nil || errors.Is(err, ErrUnreachable) || errors.Is(err, ErrNotFound) {
		t.Fatalf("Has with a wrong secret: %v", err)
	}
	t.Log(err)
}
