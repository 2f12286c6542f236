package git

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	"krt.dev/krt/api/v1alpha1"
	"krt.dev/krt/sources/gitserver"
)

func TestUnchangedRevisionIsNotFetched(t *testing.T) {
	f := newFixture(t, gitserver.Options{})
	f.commit(t, map[string]string{"workflows/a.yaml": "a: 1\n"})

	first := f.sync(t, nil, v1alpha1.GitRef{})
	before := f.counts()
	if before.Fetches != 1 {
		t.Fatalf("fetches after the first sync = %d, want 1", before.Fetches)
	}
	second := f.sync(t, nil, v1alpha1.GitRef{})
	after := f.counts()
	if second != first {
		t.Errorf("revision changed without a push: %s -> %s", first.Revision, second.Revision)
	}
	if after.Fetches != before.Fetches {
		t.Errorf("an unchanged revision fetched %d times", after.Fetches-before.Fetches)
	}
	if after.Listings != before.Listings+1 {
		t.Errorf("an unchanged revision listed refs %d times, want once", after.Listings-before.Listings)
	}
}

func TestNewPushIsFetchedIncrementally(t *testing.T) {
	f := newFixture(t, gitserver.Options{})
	f.commit(t, map[string]string{"workflows/a.yaml": "a: 1\n", "big.bin": randomText(t, 1<<20)})
	f.sync(t, nil, v1alpha1.GitRef{})
	packed := packBytes(t, f.cache.dir(f.URL))

	hash := f.commit(t, map[string]string{"workflows/a.yaml": "a: 2\n"})
	r := f.sync(t, nil, v1alpha1.GitRef{})
	if r.Commit != hash {
		t.Fatalf("resolved %s after a push of %s", r.Commit, hash)
	}
	if f.counts().Fetches != 2 {
		t.Errorf("fetches = %d, want 2", f.counts().Fetches)
	}
	// Fetching everything again would bring the 1 MiB file a second time.
	if grown := packBytes(t, f.cache.dir(f.URL)) - packed; grown > 64<<10 {
		t.Errorf("the second fetch added %d bytes of packs, want only the new objects", grown)
	}
	files, err := f.cache.ReadTree(f.URL, r.Commit, "workflows")
	if err != nil {
		t.Fatal(err)
	}
	if got := string(files["workflows/a.yaml"]); got != "a: 2\n" {
		t.Errorf("workflows/a.yaml = %q after the push, want %q", got, "a: 2\n")
	}
}

func TestReadTree(t *testing.T) {
	f := newFixture(t, gitserver.Options{})
	f.work.Write(map[string]string{
		"workflows/a.yaml":     "a",
		"workflows/sub/b.yaml": "b",
		"workflows/run.sh":     "echo",
		"other/c.yaml":         "c",
		"workflows-not/d.yaml": "d",
	})
	if err := os.Chmod(filepath.Join(f.work.Dir, "workflows/run.sh"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("../other/c.yaml", filepath.Join(f.work.Dir, "workflows/link.yaml")); err != nil {
		t.Fatal(err)
	}
	f.work.Commit("files")
	f.work.Push("main")
	r := f.sync(t, nil, v1alpha1.GitRef{})

	workflows := map[string][]byte{"workflows/a.yaml": []byte("a"), "workflows/sub/b.yaml": []byte("b"), "workflows/run.sh": []byte("echo")}
	cases := []struct {
		dir     string
		want    map[string][]byte
		wantErr error
	}{
		{dir: "workflows", want: workflows},
		{dir: "workflows/", want: workflows},
		{dir: "./workflows", want: workflows},
		{dir: "workflows/sub", want: map[string][]byte{"workflows/sub/b.yaml": []byte("b")}},
		{dir: "missing", wantErr: ErrPathNotFound},
	}
	for _, tc := range cases {
		t.Run(tc.dir, func(t *testing.T) {
			got, err := f.cache.ReadTree(f.URL, r.Commit, tc.dir)
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("error = %v, want %v", err, tc.wantErr)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("files (-want +got):\n%s", diff)
			}
		})
	}
	if _, err := f.cache.ReadTree(f.URL, r.Commit, "../x"); err == nil {
		t.Error("ReadTree of ../x succeeded, want an error")
	}
	root, err := f.cache.ReadTree(f.URL, r.Commit, "")
	if err != nil || len(root) != 5 {
		t.Errorf("ReadTree of the root gave %d files (%v), want the 5 regular files", len(root), err)
	}
}

func TestChangedPaths(t *testing.T) {
	f := newFixture(t, gitserver.Options{})
	from := f.commit(t, map[string]string{"w/a.yaml": "a", "w/b.yaml": "b", "w/c.yaml": "c", "README": "r"})
	to := f.commit(t, map[string]string{"w/a.yaml": "a2", "w/new.yaml": "n"}, "w/c.yaml")
	f.sync(t, nil, v1alpha1.GitRef{})

	cases := []struct {
		name          string
		from          string
		limit         int
		want          []string
		wantTruncated bool
	}{
		{name: "between two commits", from: from, want: []string{"w/a.yaml", "w/c.yaml", "w/new.yaml"}},
		{name: "from nothing", want: []string{"README", "w/a.yaml", "w/b.yaml", "w/new.yaml"}},
		{name: "limited", from: from, limit: 2, want: []string{"w/a.yaml", "w/c.yaml"}, wantTruncated: true},
		{name: "limit not reached", from: from, limit: 3, want: []string{"w/a.yaml", "w/c.yaml", "w/new.yaml"}},
		{name: "same commit", from: to, want: nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, truncated, err := f.cache.ChangedPaths(f.URL, tc.from, to, tc.limit)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" || truncated != tc.wantTruncated {
				t.Errorf("paths (-want +got):\n%s truncated=%v, want %v", diff, truncated, tc.wantTruncated)
			}
		})
	}
}

// Every WorkflowRepository naming a URL shares its cache; they may reconcile
// at once.
func TestConcurrentSyncsShareOneCache(t *testing.T) {
	f := newFixture(t, gitserver.Options{})
	hash := f.commit(t, map[string]string{"workflows/a.yaml": "a"})
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ctx := testContext(t)
			r, err := f.cache.Resolve(ctx, f.URL, nil, v1alpha1.GitRef{})
			if err == nil {
				err = f.cache.Fetch(ctx, f.URL, nil, r)
			}
			if err == nil {
				_, err = f.cache.ReadTree(f.URL, hash, "workflows")
			}
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
	if n := f.counts().Fetches; n != 1 {
		t.Errorf("8 concurrent syncs fetched %d times, want 1", n)
	}
}

func randomText(t *testing.T, n int) string {
	b := make([]byte, n/2)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}

func packBytes(t *testing.T, repo string) int64 {
	t.Helper()
	packs, err := filepath.Glob(filepath.Join(repo, "objects", "pack", "*.pack"))
	if err != nil {
		t.Fatal(err)
	}
	var total int64
	for _, p := range packs {
		fi, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		total += fi.Size()
	}
	return total
}

func TestReadTreeLimits(t *testing.T) {
	f := newFixture(t, gitserver.Options{})
	hash := f.commit(t, map[string]string{"w/a": "12345", "w/b": "12345", "w/c": "12345"})
	f.sync(t, nil, v1alpha1.GitRef{})
	cases := []struct {
		name    string
		limits  Limits
		wantErr string
	}{
		{name: "within both", limits: Limits{Files: 3, Bytes: 15}},
		{name: "too many files", limits: Limits{Files: 2, Bytes: 15}, wantErr: `"w" holds more than 2 files`},
		{name: "too many bytes", limits: Limits{Files: 3, Bytes: 14}, wantErr: `"w" holds more than 14 bytes`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f.cache.Limits = tc.limits
			_, err := f.cache.ReadTree(f.URL, hash, "w")
			if tc.wantErr == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if !errors.Is(err, ErrTooLarge) || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("error = %v, want ErrTooLarge saying %q", err, tc.wantErr)
			}
		})
	}
}

func TestFetchEdgeCases(t *testing.T) {
	f := newFixture(t, gitserver.Options{})
	f.commit(t, map[string]string{"a": "1"})

	t.Run("a broken cache is refetched", func(t *testing.T) {
		dir := f.cache.dir(f.URL)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "config"), []byte("[[[ not git"), 0o644); err != nil {
			t.Fatal(err)
		}
		r := f.sync(t, nil, v1alpha1.GitRef{})
		if _, err := f.cache.ReadTree(f.URL, r.Commit, ""); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("a commit the ref no longer reaches", func(t *testing.T) {
		gone := strings.Repeat("b", 40)
		err := f.cache.Fetch(testContext(t), f.URL, nil, Resolved{Commit: gone, Ref: "refs/heads/main"})
		if err == nil || !strings.Contains(err.Error(), "is not in refs/heads/main any more") {
			t.Errorf("error = %v, want one saying the commit is not in refs/heads/main", err)
		}
	})
	t.Run("reading before any fetch", func(t *testing.T) {
		other, err := NewCache(t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		_, err = other.ReadTree(f.URL, strings.Repeat("c", 40), "")
		if err == nil || !strings.Contains(err.Error(), "has not been fetched yet") {
			t.Errorf("error = %v, want one saying nothing was fetched", err)
		}
	})
}
