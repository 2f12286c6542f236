package git

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"krt.dev/krt/sources/gitserver"
)

func TestPullRequestHeadPicksTheRef(t *testing.T) {
	sha := strings.Repeat("ab", 20)
	refs := Refs{refs: remoteRefs{
		"refs/pull/1/head":           sha,
		"refs/merge-requests/2/head": sha,
		"refs/heads/feature":         sha,
	}}
	cases := []struct {
		name    string
		number  int64
		sha     string
		branch  string
		want    Resolved
		wantErr string
	}{
		{name: "github ref", number: 1, sha: sha, branch: "feature",
			want: Resolved{Commit: sha, Revision: "refs/pull/1/head@sha1:" + sha, Ref: "refs/pull/1/head"}},
		{name: "gitlab ref", number: 2, sha: strings.ToUpper(sha),
			want: Resolved{Commit: sha, Revision: "refs/merge-requests/2/head@sha1:" + sha, Ref: "refs/merge-requests/2/head"}},
		{name: "same-repository branch", number: 3, sha: sha, branch: "feature",
			want: Resolved{Commit: sha, Revision: "feature@sha1:" + sha, Ref: "refs/heads/feature"}},
		{name: "nothing published", number: 4, sha: sha, branch: "gone",
			want: Resolved{Commit: sha, Revision: "sha1:" + sha}},
		{name: "short hash", number: 1, sha: sha[:12], wantErr: "not a full SHA-1"},
		{name: "not a hash", number: 1, sha: "../../etc/passwd", wantErr: "not a full SHA-1"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := refs.PullRequestHead(tc.number, tc.sha, tc.branch)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error = %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

// A PR head that no branch holds is fetched by its refs/pull ref, read
// from the tree like any revision, and not fetched a second time.
func TestFetchPullRequestHead(t *testing.T) {
	f := newFixture(t, gitserver.Options{})
	f.commit(t, map[string]string{"workflows/a.yaml": "base\n"})
	f.work.Run("checkout", "--quiet", "-b", "feature")
	f.work.Write(map[string]string{"workflows/a.yaml": "head\n"})
	head := f.work.Commit("pr")
	f.work.Push("HEAD:refs/pull/7/head")

	ctx := testContext(t)
	refs, err := f.cache.ListRefs(ctx, f.URL, nil)
	if err != nil {
		t.Fatal(err)
	}
	res, err := refs.PullRequestHead(7, head, "feature")
	if err != nil {
		t.Fatal(err)
	}
	if res.Ref != "refs/pull/7/head" {
		t.Fatalf("ref = %q", res.Ref)
	}
	for range 2 {
		if err := f.cache.Fetch(ctx, f.URL, nil, res); err != nil {
			t.Fatal(err)
		}
	}
	if got := f.counts().Fetches; got != 1 {
		t.Errorf("fetches = %d, want 1: a cached head is not fetched again", got)
	}
	files, err := f.cache.ReadTree(f.URL, head, "workflows")
	if err != nil {
		t.Fatal(err)
	}
	if got := string(files["workflows/a.yaml"]); got != "head\n" {
		t.Errorf("workflows/a.yaml = %q, want the head's", got)
	}
}
