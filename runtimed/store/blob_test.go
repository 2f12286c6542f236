package store

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"strings"
	"testing"
	"testing/iotest"
	"time"
)

func TestBlobRoundTrip(t *testing.T) {
	eachBackend(t, func(t *testing.T, s *Store, _ func(string) string) {
		ctx := context.Background()
		b := randomBytes(t, 3<<20+7)
		d := Digest(b)
		uri, err := s.PutBlob(ctx, d, int64(len(b)), bytes.NewReader(b))
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasSuffix(uri, "/"+BlobKey(d)) {
			t.Errorf("uri %q does not end with the blob's key", uri)
		}
		if ok, err := s.Has(ctx, d); !ok || err != nil {
			t.Fatalf("Has after PutBlob: %v, %v", ok, err)
		}
		// Stored already: the reader is not read (it would fail).
		again, err := s.PutBlob(ctx, d, int64(len(b)), iotest.ErrReader(errors.New("read")))
		if err != nil || again != uri {
			t.Fatalf("PutBlob of a stored blob: %q, %v", again, err)
		}
		r, size, err := s.GetBlob(ctx, d)
		if err != nil {
			t.Fatal(err)
		}
		defer r.Close()
		got, err := io.ReadAll(r)
		if err != nil || size != int64(len(b)) || !bytes.Equal(got, b) {
			t.Fatalf("GetBlob: %d bytes of %d (size %d), equal %v, %v", len(got), len(b), size, bytes.Equal(got, b), err)
		}
	})
}

// TestPutBlobMismatch: wrong bytes, too few, too many: nothing is left,
// also when the upload is multipart (12 MiB).
func TestPutBlobMismatch(t *testing.T) {
	eachBackend(t, func(t *testing.T, s *Store, _ func(string) string) {
		ctx := context.Background()
		b := randomBytes(t, 12<<20)
		d := Digest(b)
		cases := map[string]struct {
			size int64
			body []byte
		}{
			"other bytes": {int64(len(b)), randomBytes(t, len(b))},
			"short":       {int64(len(b)), b[:len(b)-1]},
			"long":        {int64(len(b)) - 1, b},
			"wrong size":  {int64(len(b)) + 1, b},
		}
		for name, c := range cases {
			_, err := s.PutBlob(ctx, d, c.size, bytes.NewReader(c.body))
			if !errors.Is(err, ErrDigestMismatch) {
				t.Errorf("%s: %v, want ErrDigestMismatch", name, err)
			}
		}
		if ok, err := s.Has(ctx, d); ok || err != nil {
			t.Errorf("Has after mismatches: %v, %v", ok, err)
		}
		if ks := keys(t, s, ""); len(ks) != 0 {
			t.Errorf("objects left: %v", ks)
		}
	})
}

func TestGetBlobTampered(t *testing.T) {
	eachBackend(t, func(t *testing.T, s *Store, onDisk func(string) string) {
		ctx := context.Background()
		b := randomBytes(t, 1<<20)
		d := put(t, s, b)
		evil := bytes.Clone(b)
		evil[len(evil)/2] ^= 1
		if err := os.WriteFile(onDisk(BlobKey(d)), evil, 0o644); err != nil {
			t.Fatal(err)
		}
		r, _, err := s.GetBlob(ctx, d)
		if err != nil {
			t.Fatal(err)
		}
		defer r.Close()
		_, err = io.ReadAll(r)
		if !errors.Is(err, ErrDigestMismatch) {
			t.Fatalf("reading a tampered blob: %v, want ErrDigestMismatch", err)
		}
	})
}

func TestNotFound(t *testing.T) {
	eachBackend(t, func(t *testing.T, s *Store, _ func(string) string) {
		ctx := context.Background()
		d := Digest([]byte("absent"))
		if ok, err := s.Has(ctx, d); ok || err != nil {
			t.Errorf("Has: %v, %v", ok, err)
		}
		if _, _, err := s.GetBlob(ctx, d); !errors.Is(err, ErrNotFound) {
			t.Errorf("GetBlob: %v", err)
		}
		if err := s.GetRecord(ctx, "refs/a/b", &ArtifactRef{}); !errors.Is(err, ErrNotFound) {
			t.Errorf("GetRecord: %v", err)
		}
		if _, err := s.GetStream(ctx, "logs/a/b/c"); !errors.Is(err, ErrNotFound) {
			t.Errorf("GetStream: %v", err)
		}
	})
}

// TestUnreachable: every call to a closed port fails fast with
// ErrUnreachable, naming the store.
func TestUnreachable(t *testing.T) {
	s := mustOpen(t, Options{Name: "ns/store", S3: &S3{
		Bucket: "b", Endpoint: "http://127.0.0.1:1", ForcePathStyle: true,
		AccessKeyID: "a", SecretAccessKey: "s",
	}})
	ctx := context.Background()
	d := Digest([]byte("x"))
	calls := map[string]func() error{
		"Has":       func() error { _, err := s.Has(ctx, d); return err },
		"PutBlob":   func() error { _, err := s.PutBlob(ctx, d, 1, strings.NewReader("x")); return err },
		"GetBlob":   func() error { _, _, err := s.GetBlob(ctx, d); return err },
		"PutRecord": func() error { _, err := s.PutRecord(ctx, "cache/a", 1, false); return err },
		"GetRecord": func() error { var v int; return s.GetRecord(ctx, "cache/a", &v) },
		"PutStream": func() error { return s.PutStream(ctx, "logs/a", strings.NewReader("x")) },
		"List":      func() error { return s.List(ctx, "", func(Object) error { return nil }) },
		"Delete":    func() error { return s.Delete(ctx, "cache/a") },
	}
	for name, call := range calls {
		start := time.Now()
		err := call()
		if !errors.Is(err, ErrUnreachable) {
			t.Errorf("%s: %v, want ErrUnreachable", name, err)
			continue
		}
		if took := time.Since(start); took > 5*time.Second {
			t.Errorf("%s took %s", name, took)
		}
		want := "artifact store ns/store (s3://b at http://127.0.0.1:1): unreachable: "
		if !strings.HasPrefix(err.Error(), want) {
			t.Errorf("%s: %q does not start with %q", name, err, want)
		}
	}
}
