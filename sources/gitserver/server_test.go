package gitserver_test

import (
	"bytes"
	"crypto/rand"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	"krt.dev/krt/sources/gitserver"
	"krt.dev/krt/sources/gitserver/gittest"
)

// recorder collects push events; OnPush runs on the server's goroutines.
type recorder struct {
	mu     sync.Mutex
	events []gitserver.PushEvent
}

func (r *recorder) record(ev gitserver.PushEvent) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events = append(r.events, ev)
}

func (r *recorder) take() []gitserver.PushEvent {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := r.events
	r.events = nil
	return out
}

func TestPushReportsMovedRefs(t *testing.T) {
	rec := &recorder{}
	s := gittest.Serve(t, gitserver.Options{OnPush: rec.record}, "demo")
	work := gittest.NewClone(t, s.URL)

	var first, second string
	steps := []struct {
		name string
		act  func()
		want func() []gitserver.PushEvent
	}{
		{
			name: "first push creates main",
			act: func() {
				work.Write(map[string]string{"workflows/a.yaml": "a: 1\n"})
				first = work.Commit("first")
				work.Push("main")
			},
			want: func() []gitserver.PushEvent {
				return []gitserver.PushEvent{{Repo: "demo", Ref: "refs/heads/main", After: first}}
			},
		},
		{
			name: "second push moves main",
			act: func() {
				work.Write(map[string]string{"workflows/a.yaml": "a: 2\n"})
				second = work.Commit("second")
				work.Push("main")
			},
			want: func() []gitserver.PushEvent {
				return []gitserver.PushEvent{{Repo: "demo", Ref: "refs/heads/main", Before: first, After: second}}
			},
		},
		{
			name: "a branch and a tag in one push",
			act: func() {
				work.Tag("v1.0.0", false)
				work.Push("HEAD:refs/heads/feature", "v1.0.0")
			},
			want: func() []gitserver.PushEvent {
				return []gitserver.PushEvent{
					{Repo: "demo", Ref: "refs/heads/feature", After: second},
					{Repo: "demo", Ref: "refs/tags/v1.0.0", After: second},
				}
			},
		},
		{
			name: "deleting a branch",
			act:  func() { work.Push(":refs/heads/feature") },
			want: func() []gitserver.PushEvent {
				return []gitserver.PushEvent{{Repo: "demo", Ref: "refs/heads/feature", Before: second}}
			},
		},
		{
			name: "pushing nothing new",
			act:  func() { work.Push("main") },
			want: func() []gitserver.PushEvent { return nil },
		},
	}
	for _, step := range steps {
		step.act()
		if diff := cmp.Diff(step.want(), rec.take()); diff != "" {
			t.Errorf("%s: push events (-want +got):\n%s", step.name, diff)
		}
	}
}

func TestCountsSeparateListingsFromFetches(t *testing.T) {
	s := gittest.Serve(t, gitserver.Options{}, "demo")
	work := gittest.NewClone(t, s.URL)
	work.Write(map[string]string{"README": "hi\n"})
	work.Commit("first")
	work.Push("main")
	base := s.Server.Counts()["demo"]
	if base.Pushes != 1 {
		t.Fatalf("pushes after one push = %d, want 1", base.Pushes)
	}

	steps := []struct {
		name string
		args []string
		want gitserver.Counts
	}{
		{"ls-remote", []string{"ls-remote", s.URL}, gitserver.Counts{Listings: 1}},
		{"ls-remote over protocol v0", []string{"-c", "protocol.version=0", "ls-remote", s.URL}, gitserver.Counts{Listings: 1}},
		{"clone", []string{"clone", "--quiet", s.URL, t.TempDir() + "/c"}, gitserver.Counts{Listings: 1, Fetches: 1}},
		{"fetch with nothing new", []string{"-C", work.Dir, "fetch", "--quiet"}, gitserver.Counts{Listings: 1}},
	}
	for _, step := range steps {
		before := s.Server.Counts()["demo"]
		if out, err := gittest.Git("", step.args...); err != nil {
			t.Fatalf("%s: %v: %s", step.name, err, out)
		}
		after := s.Server.Counts()["demo"]
		got := gitserver.Counts{Listings: after.Listings - before.Listings, Fetches: after.Fetches - before.Fetches, Pushes: after.Pushes - before.Pushes}
		if got != step.want {
			t.Errorf("%s: counts grew by %+v, want %+v", step.name, got, step.want)
		}
		// Only a fetch's response is counted in bytes, and it holds a pack.
		if sent := after.FetchedBytes - before.FetchedBytes; (sent > 0) != (step.want.Fetches > 0) {
			t.Errorf("%s: fetched bytes grew by %d", step.name, sent)
		}
	}
}

func TestBasicAuth(t *testing.T) {
	s := gittest.Serve(t, gitserver.Options{Username: "alice", Password: "s3cret"}, "demo")
	infoRefs := "/demo.git/info/refs?service=git-upload-pack"
	cases := []struct {
		name       string
		user, pass string
		want       int
	}{
		{"no credentials", "", "", http.StatusUnauthorized},
		{"wrong password", "alice", "nope", http.StatusUnauthorized},
		{"wrong user", "bob", "s3cret", http.StatusUnauthorized},
		{"right credentials", "alice", "s3cret", http.StatusOK},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			req, err := http.NewRequest(http.MethodGet, s.HTTP.URL+infoRefs, nil)
			if err != nil {
				t.Fatal(err)
			}
			if tc.user != "" {
				req.SetBasicAuth(tc.user, tc.pass)
			}
			resp, err := s.HTTP.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != tc.want {
				t.Errorf("status = %d, want %d", resp.StatusCode, tc.want)
			}
		})
	}

	t.Run("git clone and push with the right password", func(t *testing.T) {
		work := gittest.NewClone(t, gittest.WithUser(t, s.URL, "alice", "s3cret"))
		work.Commit("first")
		work.Push("main")
	})
	t.Run("git clone with a wrong password fails", func(t *testing.T) {
		out, err := gittest.Git("", "clone", gittest.WithUser(t, s.URL, "alice", "nope"), t.TempDir()+"/c")
		if err == nil {
			t.Fatalf("clone succeeded with a wrong password: %s", out)
		}
	})
}

func TestRefusesNamesOutsideRoot(t *testing.T) {
	s := gittest.Serve(t, gitserver.Options{}, "demo")
	for _, name := range []string{"../evil", "/abs", "a/../../b", ".hidden", "demo.git", ""} {
		if _, err := s.Server.CreateRepo(name); err == nil {
			t.Errorf("CreateRepo(%q) succeeded, want an error", name)
		}
	}
	for _, p := range []string{"/../demo.git/info/refs", "/.git/info/refs", "/nothing-here"} {
		resp, err := http.Get(s.HTTP.URL + p + "?service=git-upload-pack")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusNotFound {
			t.Errorf("GET %s = %d, want 404", p, resp.StatusCode)
		}
	}
}

// git sends large requests chunked, after a probe; CGI needs a length.
func TestLargePush(t *testing.T) {
	rec := &recorder{}
	s := gittest.Serve(t, gitserver.Options{OnPush: rec.record}, "demo")
	work := gittest.NewClone(t, s.URL)
	big := make([]byte, 3<<20)
	if _, err := rand.Read(big); err != nil {
		t.Fatal(err)
	}
	work.Write(map[string]string{"big.bin": string(big)})
	hash := work.Commit("big")
	work.Push("main")

	if got := s.Server.Counts()["demo"].Pushes; got != 1 {
		t.Errorf("pushes = %d, want 1", got)
	}
	want := []gitserver.PushEvent{{Repo: "demo", Ref: "refs/heads/main", After: hash}}
	if diff := cmp.Diff(want, rec.take()); diff != "" {
		t.Errorf("push events (-want +got):\n%s", diff)
	}
	clone := gittest.NewClone(t, s.URL)
	got, err := os.ReadFile(filepath.Join(clone.Dir, "big.bin"))
	if err != nil || !bytes.Equal(got, big) {
		t.Errorf("a fresh clone does not have the pushed file (%v)", err)
	}
}
