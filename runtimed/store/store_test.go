package store

import (
	"bytes"
	"context"
	"crypto/rand"
	"path/filepath"
	"testing"

	"krt.dev/krt/test/s3server"
)

// backend opens a fresh store of one kind, and says which file on disk holds
// a key, so that tests can tamper with objects behind the store's back.
type backend struct {
	name string
	open func(t testing.TB) (s *Store, onDisk func(key string) string)
}

var backends = []backend{
	{"file", func(t testing.TB) (*Store, func(string) string) {
		dir := t.TempDir()
		s := mustOpen(t, Options{Name: "test/file", Dir: dir})
		return s, func(key string) string { return filepath.Join(dir, filepath.FromSlash(key)) }
	}},
	{"s3", func(t testing.TB) (*Store, func(string) string) {
		srv := s3server.Start(t)
		s := mustOpen(t, Options{Name: "test/s3", S3: &S3{
			Bucket: srv.Bucket, Endpoint: srv.Endpoint, Region: srv.Region, Prefix: "krt/p",
			ForcePathStyle: true, AccessKeyID: srv.AccessKey, SecretAccessKey: srv.SecretKey,
		}})
		return s, func(key string) string { return srv.ObjectPath("krt/p/" + key) }
	}},
}

// eachBackend runs f against every backend, in parallel subtests.
func eachBackend(t *testing.T, f func(t *testing.T, s *Store, onDisk func(string) string)) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			s, onDisk := b.open(t)
			f(t, s, onDisk)
		})
	}
}

func mustOpen(t testing.TB, o Options) *Store {
	t.Helper()
	s, err := Open(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func randomBytes(t testing.TB, n int) []byte {
	t.Helper()
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return b
}

// put stores b as a blob and returns its digest.
func put(t testing.TB, s *Store, b []byte) string {
	t.Helper()
	d := Digest(b)
	if _, err := s.PutBlob(context.Background(), d, int64(len(b)), bytes.NewReader(b)); err != nil {
		t.Fatal(err)
	}
	return d
}

// keys lists the keys under prefix.
func keys(t testing.TB, s *Store, prefix string) []string {
	t.Helper()
	var ks []string
	err := s.List(context.Background(), prefix, func(o Object) error {
		ks = append(ks, o.Key)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return ks
}
