package maintainer

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"krt.dev/krt/runtimed/store"
	"krt.dev/krt/test/s3server"
)

// fixture is a store, and a way to age its objects on disk.
type fixture struct {
	s      *store.Store
	onDisk func(key string) string
}

func backends(t *testing.T) map[string]func(t *testing.T) fixture {
	return map[string]func(t *testing.T) fixture{
		"file": func(t *testing.T) fixture {
			dir := t.TempDir()
			return fixture{open(t, store.Options{Dir: dir}), func(k string) string { return filepath.Join(dir, k) }}
		},
		"s3": func(t *testing.T) fixture {
			srv := s3server.Start(t)
			s := open(t, store.Options{S3: &store.S3{Bucket: srv.Bucket, Endpoint: srv.Endpoint, Region: srv.Region,
				ForcePathStyle: true, AccessKeyID: srv.AccessKey, SecretAccessKey: srv.SecretKey}})
			return fixture{s, srv.ObjectPath}
		},
	}
}

func open(t *testing.T, o store.Options) *store.Store {
	s, err := store.Open(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// age sets key's modification time to ago before now, as if written then.
func (f fixture) age(t *testing.T, key string, ago time.Duration) {
	t.Helper()
	when := time.Now().Add(-ago)
	if err := os.Chtimes(f.onDisk(key), when, when); err != nil {
		t.Fatal(err)
	}
}

func (f fixture) blob(t *testing.T, content string, ago time.Duration) string {
	t.Helper()
	d := store.Digest([]byte(content))
	if _, err := f.s.PutBlob(context.Background(), d, int64(len(content)), strings.NewReader(content)); err != nil {
		t.Fatal(err)
	}
	f.age(t, store.BlobKey(d), ago)
	return d
}

func (f fixture) record(t *testing.T, key string, v any, ago time.Duration) {
	t.Helper()
	if _, err := f.s.PutRecord(context.Background(), key, v, false); err != nil {
		t.Fatal(err)
	}
	f.age(t, key, ago)
}

const day = 24 * time.Hour

// populate writes one of each case, and returns the keys that a sweep must
// keep; it must delete every other.
func populate(t *testing.T, f fixture) []string {
	ctx := context.Background()
	b := func(name string, ago time.Duration) string { return f.blob(t, name, ago) }
	live, gone, old := b("live-ref", 2*day), b("gone-ref", 2*day), b("old-ref", 2*day)
	cached, oldCache, memo := b("cache", 2*day), b("old-cache", 2*day), b("memo", 2*day)
	b("unreferenced", 2*day)
	young := b("young-unreferenced", time.Minute)
	f.record(t, store.RefKey("ns", "wf-live", "u1", "bin"), store.ArtifactRef{Digest: live}, time.Hour)
	f.record(t, store.RefKey("ns", "wf-gone", "u2", "bin"), store.ArtifactRef{Digest: gone}, 2*time.Hour)
	f.record(t, store.RefKey("ns", "wf-live", "u3", "bin"), store.ArtifactRef{Digest: old}, 2*day)
	// Young, and its WorkflowRun not (yet) known: kept, with its blob.
	f.record(t, store.RefKey("ns", "wf-new", "u4", "bin"), store.ArtifactRef{Digest: live}, time.Minute)
	f.record(t, store.CacheKey("repo/wf", "k1"), store.CacheRecord{Digest: cached}, time.Hour)
	f.record(t, store.CacheKey("repo/wf", "k2"), store.CacheRecord{Digest: oldCache}, 2*day)
	f.record(t, store.MemoKey("repo/wf", "m1"), store.MemoRecord{Artifacts: []store.ArtifactRef{{Digest: memo}}}, time.Hour)
	f.record(t, store.MemoKey("repo/wf", "m2"), store.MemoRecord{}, 2*day)
	f.record(t, store.CacheKey("repo/wf", "bad"), "not a record", time.Hour)
	logs := []struct {
		run, wfr string
		ago      time.Duration
	}{{"r1", "wf-live", time.Hour}, {"r2", "wf-gone", 2 * time.Hour}, {"r3", "", 2 * day}, {"r4", "", time.Hour}}
	for _, l := range logs {
		key := store.LogKey("ns", l.run, "uid")
		if err := f.s.PutStream(ctx, key, strings.NewReader("log of "+l.run)); err != nil {
			t.Fatal(err)
		}
		f.age(t, key, l.ago)
		if l.wfr != "" {
			f.record(t, store.LogMetaKey("ns", l.run, "uid"), store.LogRecord{Namespace: "ns", WorkflowRun: l.wfr, Run: l.run}, l.ago)
		}
	}
	keep := []string{store.BlobKey(live), store.BlobKey(cached), store.BlobKey(memo), store.BlobKey(young),
		store.RefKey("ns", "wf-live", "u1", "bin"), store.RefKey("ns", "wf-new", "u4", "bin"),
		store.CacheKey("repo/wf", "k1"), store.CacheKey("repo/wf", "bad"), store.MemoKey("repo/wf", "m1"),
		store.LogKey("ns", "r1", "uid"), store.LogMetaKey("ns", "r1", "uid"), store.LogKey("ns", "r4", "uid")}
	slices.Sort(keep)
	return keep
}

func options() SweepOptions {
	return SweepOptions{
		Retention: Retention{Artifacts: day, Caches: day, Logs: day},
		BlobGrace: 10 * time.Minute,
		Exists: func(_ context.Context, ns, wfr string) (bool, error) {
			return ns == "ns" && wfr == "wf-live", nil
		},
	}
}

func all(t *testing.T, s *store.Store) []string {
	var keys []string
	if err := s.List(context.Background(), "", func(o store.Object) error {
		keys = append(keys, o.Key)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return keys
}

func TestSweep(t *testing.T) {
	for name, open := range backends(t) {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			f := open(t)
			keep := populate(t, f)
			res, err := Sweep(context.Background(), f.s, options())
			if err != nil {
				t.Fatal(err)
			}
			want := SweepResult{Refs: 2, Caches: 1, Memos: 1, Logs: 2, Blobs: 4, BlobsKept: 4,
				Malformed: []string{store.CacheKey("repo/wf", "bad")}}
			if !equal(res, want) {
				t.Errorf("result %+v, want %+v", res, want)
			}
			if got := all(t, f.s); !slices.Equal(got, keep) {
				t.Fatalf("left\n%v\nwant\n%v", got, keep)
			}
			// Idempotent: a second sweep finds nothing more.
			res, err = Sweep(context.Background(), f.s, options())
			if err != nil || res.Refs+res.Caches+res.Memos+res.Logs+res.Blobs != 0 {
				t.Fatalf("second sweep: %+v, %v", res, err)
			}
		})
	}
}

// TestSweepConcurrent: two replicas sweeping at once end where one would,
// without errors.
func TestSweepConcurrent(t *testing.T) {
	for name, open := range backends(t) {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			f := open(t)
			keep := populate(t, f)
			var wg sync.WaitGroup
			results := make([]SweepResult, 2)
			for i := range results {
				wg.Go(func() {
					var err error
					if results[i], err = Sweep(context.Background(), f.s, options()); err != nil {
						t.Errorf("sweep %d: %v", i, err)
					}
				})
			}
			wg.Wait()
			if got := all(t, f.s); !slices.Equal(got, keep) {
				t.Fatalf("left\n%v\nwant\n%v", got, keep)
			}
			if blobs := results[0].Blobs + results[1].Blobs; blobs < 4 {
				t.Errorf("the two sweeps deleted %d blobs between them, want at least 4", blobs)
			}
		})
	}
}

func equal(a, b SweepResult) bool {
	return a.Refs == b.Refs && a.Caches == b.Caches && a.Memos == b.Memos && a.Logs == b.Logs &&
		a.Blobs == b.Blobs && a.BlobsKept == b.BlobsKept && slices.Equal(a.Malformed, b.Malformed)
}
