package git

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"krt.dev/krt/api/v1alpha1"
	"krt.dev/krt/sources/gitserver"
	"krt.dev/krt/sources/gitserver/gittest"
)

func TestResolve(t *testing.T) {
	f := newFixture(t, gitserver.Options{})
	c0 := f.commit(t, map[string]string{"a": "0"})
	c1 := f.commit(t, map[string]string{"a": "1"})
	f.work.Tag("v1.0.0", false)
	c2 := f.commit(t, map[string]string{"a": "2"})
	f.work.Tag("v1.1.0", true)
	f.work.Push("HEAD:refs/heads/dev")
	c3 := f.commit(t, map[string]string{"a": "3"})
	f.work.Tag("v2.0.0-rc.1", false)
	f.work.Push("--tags")

	cases := []struct {
		name    string
		ref     v1alpha1.GitRef
		want    Resolved
		wantErr string
	}{
		{name: "default is main", want: Resolved{Commit: c3, Revision: "main@sha1:" + c3, Ref: "refs/heads/main"}},
		{name: "branch", ref: v1alpha1.GitRef{Branch: "dev"}, want: Resolved{Commit: c2, Revision: "dev@sha1:" + c2, Ref: "refs/heads/dev"}},
		{name: "tag", ref: v1alpha1.GitRef{Tag: "v1.0.0"}, want: Resolved{Commit: c1, Revision: "v1.0.0@sha1:" + c1, Ref: "refs/tags/v1.0.0"}},
		{name: "annotated tag is peeled", ref: v1alpha1.GitRef{Tag: "v1.1.0"}, want: Resolved{Commit: c2, Revision: "v1.1.0@sha1:" + c2, Ref: "refs/tags/v1.1.0"}},
		{name: "semver range", ref: v1alpha1.GitRef{SemVer: ">=1.0.0 <2.0.0"}, want: Resolved{Commit: c2, Revision: "v1.1.0@sha1:" + c2, Ref: "refs/tags/v1.1.0"}},
		{name: "semver skips pre-releases", ref: v1alpha1.GitRef{SemVer: "*"}, want: Resolved{Commit: c2, Revision: "v1.1.0@sha1:" + c2, Ref: "refs/tags/v1.1.0"}},
		{name: "semver range naming a pre-release", ref: v1alpha1.GitRef{SemVer: ">=2.0.0-0"}, want: Resolved{Commit: c3, Revision: "v2.0.0-rc.1@sha1:" + c3, Ref: "refs/tags/v2.0.0-rc.1"}},
		{name: "commit", ref: v1alpha1.GitRef{Commit: c1}, want: Resolved{Commit: c1, Revision: "sha1:" + c1}},
		{name: "commit on a branch", ref: v1alpha1.GitRef{Branch: "dev", Commit: c1}, want: Resolved{Commit: c1, Revision: "sha1:" + c1, Ref: "refs/heads/dev"}},
		{name: "abbreviated commit a ref points at", ref: v1alpha1.GitRef{Commit: c3[:10]}, want: Resolved{Commit: c3, Revision: "sha1:" + c3}},
		{name: "missing branch", ref: v1alpha1.GitRef{Branch: "nope"}, wantErr: `branch "nope" not found`},
		{name: "missing tag", ref: v1alpha1.GitRef{Tag: "v9"}, wantErr: `tag "v9" not found`},
		{name: "no tag in range", ref: v1alpha1.GitRef{SemVer: ">=3"}, wantErr: `no tag matches semver range ">=3"`},
		{name: "bad range", ref: v1alpha1.GitRef{SemVer: "not a range"}, wantErr: `semver range "not a range"`},
		{name: "abbreviated commit nothing points at", ref: v1alpha1.GitRef{Commit: c0[:8]}, wantErr: "use the full 40-character hash"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := f.cache.Resolve(testContext(t), f.URL, nil, tc.ref)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error = %v, want one containing %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("resolved (-want +got):\n%s", diff)
			}
		})
	}
}

func TestResolveFollowsHEADWithoutMain(t *testing.T) {
	s := gittest.Serve(t, gitserver.Options{}, "demo")
	work := gittest.NewClone(t, s.URL)
	hash := work.Commit("first")
	work.Push("HEAD:refs/heads/trunk")
	if out, err := gittest.Git(s.Dir, "symbolic-ref", "HEAD", "refs/heads/trunk"); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	cache, err := NewCache(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	got, err := cache.Resolve(testContext(t), s.URL, nil, v1alpha1.GitRef{})
	if err != nil {
		t.Fatal(err)
	}
	want := Resolved{Commit: hash, Revision: "trunk@sha1:" + hash, Ref: "refs/heads/trunk"}
	if got != want {
		t.Errorf("resolved %+v, want %+v", got, want)
	}
}

func TestPullRequestHeads(t *testing.T) {
	f := newFixture(t, gitserver.Options{})
	base := f.commit(t, map[string]string{"a": "1"})
	f.work.Write(map[string]string{"a": "pr"})
	head := f.work.Commit("pr")
	f.work.Push("HEAD:refs/pull/12/head", base+":refs/merge-requests/3/head", "HEAD:refs/pull/12/merge")

	got, err := f.cache.PullRequestHeads(testContext(t), f.URL, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := []PRHead{{Number: 3, SHA: base}, {Number: 12, SHA: head}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("PR heads (-want +got):\n%s", diff)
	}
}
