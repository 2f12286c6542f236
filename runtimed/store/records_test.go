package store

import (
	"context"
	"io"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestPutRecordIfAbsent(t *testing.T) {
	eachBackend(t, func(t *testing.T, s *Store, _ func(string) string) {
		ctx := context.Background()
		key := CacheKey("repo/wf", "go-${{ hash }}")
		first := CacheRecord{Digest: Digest([]byte("1")), Size: 1, Created: time.Unix(1, 0).UTC()}
		second := CacheRecord{Digest: Digest([]byte("2")), Size: 1}
		for i, want := range []bool{true, false} {
			rec := []CacheRecord{first, second}[i]
			if w, err := s.PutRecord(ctx, key, rec, true); w != want || err != nil {
				t.Fatalf("PutRecord ifAbsent #%d: %v, %v; want %v", i+1, w, err, want)
			}
		}
		var got CacheRecord
		if err := s.GetRecord(ctx, key, &got); err != nil || got != first {
			t.Fatalf("GetRecord: %+v, %v; the first write should win", got, err)
		}
		if w, err := s.PutRecord(ctx, key, second, false); !w || err != nil {
			t.Fatalf("PutRecord overwrite: %v, %v", w, err)
		}
		if err := s.GetRecord(ctx, key, &got); err != nil || got != second {
			t.Fatalf("GetRecord after overwrite: %+v, %v", got, err)
		}
	})
}

func TestStreamRoundTrip(t *testing.T) {
	eachBackend(t, func(t *testing.T, s *Store, _ func(string) string) {
		ctx := context.Background()
		key := LogKey("ns", "run-1", "0b5e1c2a-uid")
		log := strings.Repeat("line\n", 100000)
		if err := s.PutStream(ctx, key, strings.NewReader(log)); err != nil {
			t.Fatal(err)
		}
		r, err := s.GetStream(ctx, key)
		if err != nil {
			t.Fatal(err)
		}
		defer r.Close()
		if b, err := io.ReadAll(r); err != nil || string(b) != log {
			t.Fatalf("GetStream: %d bytes, %v", len(b), err)
		}
	})
}

func TestListDelete(t *testing.T) {
	eachBackend(t, func(t *testing.T, s *Store, _ func(string) string) {
		ctx := context.Background()
		for _, k := range []string{"refs/ns/a/u1/x", "refs/ns/a/u1/y", "refs/ns/b/u2/x", "cache/z"} {
			if _, err := s.PutRecord(ctx, k, ArtifactRef{Name: k}, false); err != nil {
				t.Fatal(err)
			}
		}
		if got, want := keys(t, s, "refs/ns/a/"), []string{"refs/ns/a/u1/x", "refs/ns/a/u1/y"}; !slices.Equal(got, want) {
			t.Fatalf("List refs/ns/a/: %v, want %v", got, want)
		}
		var sizes []int64
		_ = s.List(ctx, "refs/", func(o Object) error {
			if o.ModTime.IsZero() || time.Since(o.ModTime) > time.Hour {
				t.Errorf("%s: ModTime %v", o.Key, o.ModTime)
			}
			sizes = append(sizes, o.Size)
			return nil
		})
		if len(sizes) != 3 || sizes[0] == 0 {
			t.Errorf("sizes %v", sizes)
		}
		for range 2 { // idempotent
			if err := s.Delete(ctx, "refs/ns/a/u1/x"); err != nil {
				t.Fatal(err)
			}
		}
		if err := s.Delete(ctx, "refs/never/was"); err != nil {
			t.Fatal(err)
		}
		if got := keys(t, s, ""); !slices.Equal(got, []string{"cache/z", "refs/ns/a/u1/y", "refs/ns/b/u2/x"}) {
			t.Fatalf("after Delete: %v", got)
		}
	})
}

// TestHostileKeys: no key that could leave the store's root, or clash with
// a backend's own files, reaches the backend.
func TestHostileKeys(t *testing.T) {
	s := mustOpen(t, Options{Dir: t.TempDir()})
	ctx := context.Background()
	hostile := []string{
		"", "/etc/passwd", "../x", "a/../../b", "a/..", "a//b", "a/./b", ".hidden", "a/.git/config",
		"a b", "a\x00b", "a\\b", "ü", "a/", "x.tmp", "x.attrs", "%2e%2e/x", "a?b", "a#b",
		LogKey("..", "run", "uid"), RefKey("ns", "wfr", "uid", "../../../etc"), strings.Repeat("a", 600),
	}
	for _, k := range hostile {
		if _, err := s.PutRecord(ctx, k, 1, false); err == nil {
			t.Errorf("PutRecord(%q) was allowed", k)
		}
		if err := s.GetRecord(ctx, k, new(int)); err == nil || !strings.Contains(err.Error(), "invalid key") {
			t.Errorf("GetRecord(%q): %v", k, err)
		}
		if err := s.PutStream(ctx, k, strings.NewReader("x")); err == nil {
			t.Errorf("PutStream(%q) was allowed", k)
		}
		if _, err := s.GetStream(ctx, k); err == nil {
			t.Errorf("GetStream(%q) was allowed", k)
		}
		if err := s.Delete(ctx, k); err == nil {
			t.Errorf("Delete(%q) was allowed", k)
		}
	}
	for _, p := range []string{"../", "/", "a//", "..", "a/../"} {
		if err := s.List(ctx, p, func(Object) error { return nil }); err == nil {
			t.Errorf("List(%q) was allowed", p)
		}
	}
	for _, d := range []string{"sha256:../../x", "md5:abc", "sha256:" + strings.Repeat("A", 64)} {
		if _, err := s.Has(ctx, d); err == nil {
			t.Errorf("Has(%q) was allowed", d)
		}
	}
	if got := keys(t, s, ""); len(got) != 0 {
		t.Errorf("written: %v", got)
	}
}

func TestKeyLayout(t *testing.T) {
	d := Digest([]byte("x"))
	for _, k := range []string{BlobKey(d), CacheKey("any thing/../", "${{ x }}"), MemoKey("s", "k"),
		LogKey("ns", "run", "uid"), LogMetaKey("ns", "run", "uid"), RefKey("ns", "wfr", "uid", "dist.tar")} {
		if err := validKey(k); err != nil {
			t.Errorf("the layout's own key is refused: %v", err)
		}
	}
	if got := RefKey("ns", "wfr", "uid", "bin"); got != "refs/ns/wfr/uid/bin" {
		t.Errorf("RefKey: %s", got)
	}
	if got := LogKey("ns", "r", "u"); got != "logs/ns/r/u" {
		t.Errorf("LogKey: %s", got)
	}
	if !strings.HasPrefix(CacheKey("a", "b"), "cache/") || len(CacheKey("a", "b")) != len("cache/")+64+1+64 {
		t.Errorf("CacheKey: %s", CacheKey("a", "b"))
	}
}
