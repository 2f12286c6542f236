package git

import (
	"context"
	"testing"
	"time"

	"krt.dev/krt/api/v1alpha1"
	"krt.dev/krt/sources/gitserver"
	"krt.dev/krt/sources/gitserver/gittest"
)

// fixture is a served repository, a working clone of it, and a cache.
type fixture struct {
	*gittest.Served
	work  *gittest.Clone
	cache *Cache
}

func newFixture(t *testing.T, opts gitserver.Options) *fixture {
	t.Helper()
	s := gittest.Serve(t, opts, "demo")
	cloneURL := s.URL
	if opts.Username != "" {
		cloneURL = gittest.WithUser(t, s.URL, opts.Username, opts.Password)
	}
	cache, err := NewCache(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return &fixture{Served: s, work: gittest.NewClone(t, cloneURL), cache: cache}
}

// commit writes files, commits and pushes main, returning the commit.
func (f *fixture) commit(t *testing.T, files map[string]string, remove ...string) string {
	t.Helper()
	f.work.Write(files)
	f.work.Remove(remove...)
	hash := f.work.Commit("change")
	f.work.Push("main")
	return hash
}

func (f *fixture) counts() gitserver.Counts {
	return f.Server.Counts()["demo"]
}

// sync does what a reconcile does: resolve, then fetch.
func (f *fixture) sync(t *testing.T, auth *Auth, ref v1alpha1.GitRef) Resolved {
	t.Helper()
	ctx := testContext(t)
	r, err := f.cache.Resolve(ctx, f.URL, auth, ref)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.cache.Fetch(ctx, f.URL, auth, r); err != nil {
		t.Fatal(err)
	}
	return r
}

func testContext(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}
