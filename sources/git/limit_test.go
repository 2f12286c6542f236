package git

import (
	"crypto/rand"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"krt.dev/krt/api/v1alpha1"
	"krt.dev/krt/sources/gitserver"
)

// A fetch over Limits.Fetch stops as soon as the pack passes the limit:
// the server is not read to the end, and nothing of the pack is kept.
func TestFetchOverTheLimitStopsEarly(t *testing.T) {
	f := newFixture(t, gitserver.Options{})
	f.commit(t, map[string]string{"workflows/a.yaml": "a: 1\n"})
	small := f.sync(t, nil, v1alpha1.GitRef{})

	// 16 MiB that does not compress: the pack is at least as large.
	const big = 16 << 20
	blob := make([]byte, big)
	if _, err := rand.Read(blob); err != nil {
		t.Fatal(err)
	}
	large := f.commit(t, map[string]string{"assets/blob.bin": string(blob)})
	f.cache.Limits.Fetch = 1 << 20
	ctx := testContext(t)
	r, err := f.cache.Resolve(ctx, f.URL, nil, v1alpha1.GitRef{})
	if err != nil {
		t.Fatal(err)
	}
	before := f.counts().FetchedBytes
	err = f.cache.Fetch(ctx, f.URL, nil, r)
	if !errors.Is(err, ErrTooLarge) || !strings.Contains(err.Error(), "more than 1048576 bytes") {
		t.Fatalf("fetch of a 16 MiB commit with a 1 MiB limit: err = %v, want ErrTooLarge naming the limit", err)
	}
	// The server may have written ahead into socket buffers, but far
	// from the whole pack.
	sent := f.counts().FetchedBytes - before
	t.Logf("refused: %v; the server wrote %d bytes", err, sent)
	if sent >= big/2 {
		t.Errorf("the server wrote %d bytes of a %d-byte pack: the fetch was not stopped early", sent, big)
	}
	if _, err := f.cache.ReadTree(f.URL, large, ""); err == nil {
		t.Error("the commit over the limit is readable from the cache")
	}
	if tmp, _ := filepath.Glob(filepath.Join(f.cache.dir(f.URL), "objects", "pack", "tmp_*")); len(tmp) > 0 {
		t.Errorf("partial packs left in the cache: %v", tmp)
	}
	if got := packBytes(t, f.cache.dir(f.URL)); got > 1<<20 {
		t.Errorf("the cache holds %d bytes of packs after a refused fetch", got)
	}
	// What was there before is still there, and a larger limit fetches.
	if _, err := f.cache.ReadTree(f.URL, small.Commit, "workflows"); err != nil {
		t.Errorf("the earlier commit: %v", err)
	}
	f.cache.Limits.Fetch = 64 << 20
	if err := f.cache.Fetch(ctx, f.URL, nil, r); err != nil {
		t.Fatalf("with a 64 MiB limit: %v", err)
	}
	if _, err := os.Stat(f.cache.dir(f.URL)); err != nil {
		t.Fatal(err)
	}
}
