package store

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"krt.dev/krt/test/s3server"
)

func TestDeleteAbandonedTemporaries(t *testing.T) {
	dir := t.TempDir()
	s := mustOpen(t, Options{Dir: dir})
	put(t, s, []byte("kept"))
	old := filepath.Join(dir, "blobs", "sha256", "abc.18a3f00dbeef.tmp")
	young := filepath.Join(dir, "blobs", "sha256", "def.18a3f00dbeef.tmp")
	for _, p := range []string{old, young} {
		if err := os.WriteFile(p, []byte("partial"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	hourAgo := time.Now().Add(-time.Hour)
	if err := os.Chtimes(old, hourAgo, hourAgo); err != nil {
		t.Fatal(err)
	}
	n, err := s.DeleteAbandoned(context.Background(), time.Now().Add(-time.Minute))
	if err != nil || n != 1 {
		t.Fatalf("DeleteAbandoned: %d, %v", n, err)
	}
	if _, err := os.Stat(old); !os.IsNotExist(err) {
		t.Errorf("the old temporary is still there: %v", err)
	}
	if _, err := os.Stat(young); err != nil {
		t.Errorf("the young temporary: %v", err)
	}
	if ks := keys(t, s, ""); len(ks) != 1 {
		t.Errorf("objects: %v", ks)
	}
}

func TestDeleteAbandonedUploads(t *testing.T) {
	srv := s3server.Start(t)
	s := mustOpen(t, Options{S3: &S3{Bucket: srv.Bucket, Endpoint: srv.Endpoint, Prefix: "mine", ForcePathStyle: true,
		AccessKeyID: srv.AccessKey, SecretAccessKey: srv.SecretKey}})
	ctx := context.Background()
	c := srv.Client()
	for _, k := range []string{"mine/blobs/sha256/x", "theirs/y"} {
		if _, err := c.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: aws.String(srv.Bucket), Key: aws.String(k)}); err != nil {
			t.Fatal(err)
		}
	}
	if n, err := s.DeleteAbandoned(ctx, time.Now().Add(-time.Hour)); err != nil || n != 0 {
		t.Fatalf("DeleteAbandoned of nothing old: %d, %v", n, err)
	}
	if n, err := s.DeleteAbandoned(ctx, time.Now().Add(time.Minute)); err != nil || n != 1 {
		t.Fatalf("DeleteAbandoned: %d, %v", n, err)
	}
	out, err := c.ListMultipartUploads(ctx, &s3.ListMultipartUploadsInput{Bucket: aws.String(srv.Bucket)})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Uploads) != 1 || aws.ToString(out.Uploads[0].Key) != "theirs/y" {
		t.Fatalf("uploads left: %d, want only theirs/y", len(out.Uploads))
	}
}
