package git

import (
	"context"
	"os"
	"sort"
	"testing"
	"time"

	"krt.dev/krt/api/v1alpha1"
	"krt.dev/krt/sources/gitserver"
	"krt.dev/krt/sources/gitserver/gittest"
)

// twoRepos syncs two served repositories into one cache, b used last.
func twoRepos(t *testing.T) (cache *Cache, a, b string) {
	t.Helper()
	cache, err := NewCache(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	var urls []string
	for _, name := range []string{"a", "b"} {
		s := gittest.Serve(t, gitserver.Options{}, name)
		work := gittest.NewClone(t, s.URL)
		work.Write(map[string]string{"workflows/x.yaml": name + ": " + randomText(t, 4096)})
		work.Commit("x")
		work.Push("main")
		ctx := testContext(t)
		r, err := cache.Resolve(ctx, s.URL, nil, v1alpha1.GitRef{})
		if err == nil {
			err = cache.Fetch(ctx, s.URL, nil, r)
		}
		if err != nil {
			t.Fatal(err)
		}
		urls = append(urls, s.URL)
	}
	// Make the order of last use unmistakable, whatever the clock's grain.
	old := time.Now().Add(-time.Hour)
	if err := os.Chtimes(cache.dir(urls[0])+"/"+usedMarker, old, old); err != nil {
		t.Fatal(err)
	}
	return cache, urls[0], urls[1]
}

func names(es []CacheEntry) []string {
	out := []string{}
	for _, e := range es {
		out = append(out, e.Name)
	}
	sort.Strings(out)
	return out
}

func TestCleanKeepsWhatRepositoriesNeed(t *testing.T) {
	cases := []struct {
		name    string
		r       func(a, b string, sizeB int64) Retention
		removed func(a, b string) []string
	}{
		{"every URL in use", func(a, b string, _ int64) Retention { return Retention{InUse: []string{a, b}} },
			func(a, b string) []string { return nil }},
		{"a URL no repository names", func(a, b string, _ int64) Retention { return Retention{InUse: []string{b}} },
			func(a, b string) []string { return []string{EntryName(a)} }},
		{"not yet idle long enough", func(a, b string, _ int64) Retention { return Retention{InUse: []string{a}, MaxIdle: time.Hour} },
			func(a, b string) []string { return nil }},
		{"over the size, least recently used first", func(a, b string, sizeB int64) Retention {
			return Retention{InUse: []string{a, b}, MaxBytes: sizeB}
		}, func(a, b string) []string { return []string{EntryName(a)} }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cache, a, b := twoRepos(t)
			entries, err := cache.Entries()
			if err != nil || len(entries) != 2 {
				t.Fatalf("entries %v, %v", entries, err)
			}
			var sizeB int64
			for _, e := range entries {
				if e.Name == EntryName(b) {
					sizeB = e.Bytes
				}
			}
			removed, err := cache.Clean(tc.r(a, b, sizeB))
			if err != nil {
				t.Fatal(err)
			}
			want := tc.removed(a, b)
			if got := names(removed); len(got) != len(want) || (len(want) == 1 && got[0] != want[0]) {
				t.Fatalf("removed %v, want %v", got, want)
			}
			for _, e := range want {
				if _, err := os.Stat(cache.root + "/" + e); !os.IsNotExist(err) {
					t.Errorf("entry %s is still on disk: %v", e, err)
				}
			}
			after, _ := cache.Entries()
			if len(after) != 2-len(want) {
				t.Errorf("entries after cleaning: %v", names(after))
			}
		})
	}
}

// An entry in use by a fetch or a read is not removed under it.
func TestCleanLeavesABusyEntry(t *testing.T) {
	cache, a, _ := twoRepos(t)
	unlock, err := cache.lock(context.Background(), a)
	if err != nil {
		t.Fatal(err)
	}
	removed, err := cache.Clean(Retention{})
	unlock()
	if err != nil {
		t.Fatal(err)
	}
	if got := names(removed); len(got) != 1 || got[0] == EntryName(a) {
		t.Errorf("removed %v while %s was busy", got, EntryName(a))
	}
	if err := cache.Remove(testContext(t), a); err != nil {
		t.Fatal(err)
	}
	if entries, _ := cache.Entries(); len(entries) != 0 {
		t.Errorf("entries after removing both: %v", names(entries))
	}
}
