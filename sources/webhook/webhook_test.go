package webhook

import (
	"errors"
	"net/http"
	"strings"
	"testing"
)

var secret = []byte("s3cret-token")

func TestVerify(t *testing.T) {
	body := []byte(`{"ref":"refs/heads/main"}`)
	cases := []struct {
		name    string
		header  http.Header
		want    string
		wantErr error
	}{
		{name: "github", header: http.Header{"X-Hub-Signature-256": {SignatureHeader(body, secret)}}, want: GitHub},
		{name: "github wrong secret", header: http.Header{"X-Hub-Signature-256": {SignatureHeader(body, []byte("other"))}}, wantErr: ErrUnauthorized},
		{name: "github not hex", header: http.Header{"X-Hub-Signature-256": {"sha256=zz"}}, wantErr: ErrUnauthorized},
		{name: "github sha1", header: http.Header{"X-Hub-Signature-256": {"sha1=abc"}}, wantErr: ErrUnauthorized},
		{name: "gitlab", header: http.Header{"X-Gitlab-Token": {string(secret)}}, want: GitLab},
		{name: "gitlab wrong token", header: http.Header{"X-Gitlab-Token": {"nope"}}, wantErr: ErrUnauthorized},
		{name: "generic", header: http.Header{"X-Signature": {SignatureHeader(body, secret)}}, want: Generic},
		{name: "unsigned", header: http.Header{}, wantErr: ErrUnauthorized},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Verify(tc.header, body, secret)
			if !errors.Is(err, tc.wantErr) || (tc.wantErr == nil && got != tc.want) {
				t.Fatalf("Verify = %q, %v; want %q, %v", got, err, tc.want, tc.wantErr)
			}
		})
	}
}

func TestDecode(t *testing.T) {
	cases := []struct {
		name     string
		provider string
		header   http.Header
		body     string
		want     Event
	}{
		{name: "github push", provider: GitHub, header: http.Header{"X-Github-Event": {"push"}},
			body: `{"ref":"refs/heads/main","before":"a","after":"b"}`,
			want: Event{Kind: KindPush, Push: &Push{Branch: "main", Before: "a", After: "b"}}},
		{name: "github tag push is ignored", provider: GitHub, header: http.Header{"X-Github-Event": {"push"}},
			body: `{"ref":"refs/tags/v1"}`, want: Event{Kind: KindIgnored}},
		{name: "github fork pull request", provider: GitHub, header: http.Header{"X-Github-Event": {"pull_request"}},
			body: `{"action":"opened","number":7,"pull_request":{"draft":true,"user":{"login":"mallory"},
				"head":{"sha":"abc","ref":"feature","repo":{"full_name":"mallory/web"}},"base":{"ref":"main","repo":{"full_name":"acme/web"}}}}`,
			want: Event{Kind: KindPullRequest, PullRequest: &PullRequest{Number: 7, HeadSHA: "abc", HeadRef: "feature", Base: "main",
				Author: "mallory", Fork: true, Draft: true, Action: "opened"}}},
		{name: "github ping", provider: GitHub, header: http.Header{"X-Github-Event": {"ping"}}, body: `{}`, want: Event{Kind: KindIgnored}},
		{name: "gitlab push", provider: GitLab, header: http.Header{"X-Gitlab-Event": {"Push Hook"}},
			body: `{"ref":"refs/heads/dev","before":"a","after":"b"}`,
			want: Event{Kind: KindPush, Push: &Push{Branch: "dev", Before: "a", After: "b"}}},
		{name: "gitlab merge request", provider: GitLab, header: http.Header{"X-Gitlab-Event": {"Merge Request Hook"}},
			body: `{"user":{"username":"ann"},"object_attributes":{"iid":3,"action":"update","source_branch":"f","target_branch":"main",
				"source_project_id":1,"target_project_id":1,"last_commit":{"id":"def"}}}`,
			want: Event{Kind: KindPullRequest, PullRequest: &PullRequest{Number: 3, HeadSHA: "def", HeadRef: "f", Base: "main",
				Author: "ann", Action: "synchronize"}}},
		{name: "generic push", provider: Generic, body: `{"type":"push","ref":"refs/heads/main","after":"c"}`,
			want: Event{Kind: KindPush, Push: &Push{Branch: "main", After: "c"}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Decode(tc.provider, tc.header, []byte(tc.body))
			if err != nil {
				t.Fatal(err)
			}
			if got.Kind != tc.want.Kind || (tc.want.Push != nil && *got.Push != *tc.want.Push) ||
				(tc.want.PullRequest != nil && *got.PullRequest != *tc.want.PullRequest) {
				t.Fatalf("Decode = %+v %+v %+v, want %+v", got, got.Push, got.PullRequest, tc.want)
			}
		})
	}
	if _, err := Decode(GitHub, http.Header{"X-Github-Event": {"push"}}, []byte("{broken")); err == nil {
		t.Error("a broken payload decoded without error")
	}
}

func TestReadBodyCaps(t *testing.T) {
	r, _ := http.NewRequest(http.MethodPost, "/", strings.NewReader(strings.Repeat("x", MaxBody+1)))
	if _, err := ReadBody(r); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("err = %v, want ErrTooLarge", err)
	}
}

func TestPathDependsOnTokenAndRepository(t *testing.T) {
	a := Path(secret, "ns", "repo")
	if a == Path([]byte("other"), "ns", "repo") || a == Path(secret, "ns", "other") || !strings.HasPrefix(a, "/hook/") {
		t.Fatalf("paths do not separate tokens and repositories: %s", a)
	}
}
