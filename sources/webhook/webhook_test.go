package webhook

import (
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"
)

var secret = []byte("s3cret-token")

func TestVerify(t *testing.T) {
	body := []byte(`{"ref":"refs/heads/main"}`)
	github := http.Header{"X-Hub-Signature-256": {SignatureHeader(body, secret)}}
	gitlab := http.Header{"X-Gitlab-Token": {string(secret)}}
	generic := http.Header{"X-Signature": {SignatureHeader(body, secret)}}
	cases := []struct {
		name     string
		provider string
		header   http.Header
		wantErr  error
	}{
		{name: "github", provider: GitHub, header: github},
		{name: "github wrong secret", provider: GitHub, header: http.Header{"X-Hub-Signature-256": {SignatureHeader(body, []byte("other"))}}, wantErr: ErrUnauthorized},
		{name: "github not hex", provider: GitHub, header: http.Header{"X-Hub-Signature-256": {"sha256=zz"}}, wantErr: ErrUnauthorized},
		{name: "github sha1", provider: GitHub, header: http.Header{"X-Hub-Signature-256": {"sha1=abc"}}, wantErr: ErrUnauthorized},
		{name: "gitlab", provider: GitLab, header: gitlab},
		{name: "gitlab wrong token", provider: GitLab, header: http.Header{"X-Gitlab-Token": {"nope"}}, wantErr: ErrUnauthorized},
		{name: "gitlab token a prefix of the secret", provider: GitLab, header: http.Header{"X-Gitlab-Token": {string(secret[:4])}}, wantErr: ErrUnauthorized},
		{name: "generic", provider: Generic, header: generic},
		{name: "unsigned", provider: GitHub, header: http.Header{}, wantErr: ErrUnauthorized},
		{name: "unknown provider", provider: "gitea", header: github, wantErr: ErrUnauthorized},
		// The request does not choose its verifier: a valid signature of
		// another provider is refused, and says so.
		{name: "gitlab token to a github repository", provider: GitHub, header: gitlab, wantErr: ErrWrongProvider},
		{name: "github signature to a gitlab repository", provider: GitLab, header: github, wantErr: ErrWrongProvider},
		{name: "github signature to a generic repository", provider: Generic, header: github, wantErr: ErrWrongProvider},
		{name: "generic signature to a github repository", provider: GitHub, header: generic, wantErr: ErrWrongProvider},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := Verify(tc.provider, tc.header, body, secret)
			if !errors.Is(err, tc.wantErr) || (tc.wantErr == nil && err != nil) {
				t.Fatalf("Verify = %v; want %v", err, tc.wantErr)
			}
			if errors.Is(err, ErrWrongProvider) && !errors.Is(err, ErrUnauthorized) {
				t.Fatalf("a wrong provider is not unauthorized: %v", err)
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
			body: `{"action":"opened","number":7,"sender":{"login":"mallory"},"pull_request":{"draft":true,"user":{"login":"mallory"},
				"head":{"sha":"abc","ref":"feature","repo":{"full_name":"mallory/web"}},"base":{"ref":"main","repo":{"full_name":"acme/web"}}}}`,
			want: Event{Kind: KindPullRequest, PullRequest: &PullRequest{Number: 7, HeadSHA: "abc", HeadRef: "feature", Base: "main",
				Author: "mallory", Sender: "mallory", Fork: true, Draft: true, Action: "opened"}}},
		// The opener is the author; whoever pushed is the sender.
		{name: "github push to someone else's pull request", provider: GitHub, header: http.Header{"X-Github-Event": {"pull_request"}},
			body: `{"action":"synchronize","number":8,"sender":{"login":"mallory"},"pull_request":{"user":{"login":"alice"},
				"updated_at":"2025-03-04T05:06:07Z",
				"head":{"sha":"abd","ref":"f","repo":{"full_name":"Acme/web"}},"base":{"ref":"main","repo":{"full_name":"acme/web"}}}}`,
			want: Event{Kind: KindPullRequest, PullRequest: &PullRequest{Number: 8, HeadSHA: "abd", HeadRef: "f", Base: "main",
				Author: "alice", Sender: "mallory", Action: "synchronize", Time: time.Date(2025, 3, 4, 5, 6, 7, 0, time.UTC)}}},
		{name: "github pull request from a deleted fork", provider: GitHub, header: http.Header{"X-Github-Event": {"pull_request"}},
			body: `{"action":"reopened","number":9,"sender":{"login":"alice"},"pull_request":{"user":{"login":"bob"},
				"head":{"sha":"abe","ref":"f","repo":null},"base":{"ref":"main","repo":{"full_name":"acme/web"}}}}`,
			want: Event{Kind: KindPullRequest, PullRequest: &PullRequest{Number: 9, HeadSHA: "abe", HeadRef: "f", Base: "main",
				Author: "bob", Sender: "alice", Fork: true, Action: "reopened"}}},
		{name: "github label is ignored", provider: GitHub, header: http.Header{"X-Github-Event": {"pull_request"}},
			body: `{"action":"labeled","number":7,"sender":{"login":"alice"},"pull_request":{"head":{"sha":"abc"}}}`,
			want: Event{Kind: KindIgnored}},
		{name: "github ping", provider: GitHub, header: http.Header{"X-Github-Event": {"ping"}}, body: `{}`, want: Event{Kind: KindIgnored}},
		{name: "gitlab push", provider: GitLab, header: http.Header{"X-Gitlab-Event": {"Push Hook"}},
			body: `{"ref":"refs/heads/dev","before":"a","after":"b"}`,
			want: Event{Kind: KindPush, Push: &Push{Branch: "dev", Before: "a", After: "b"}}},
		{name: "gitlab push to a merge request", provider: GitLab, header: http.Header{"X-Gitlab-Event": {"Merge Request Hook"}},
			body: `{"user":{"id":5,"username":"ann"},"object_attributes":{"iid":3,"action":"update","oldrev":"abc","author_id":6,
				"source_branch":"f","target_branch":"main","source_project_id":1,"target_project_id":1,"last_commit":{"id":"def"},
				"updated_at":"2025-03-04 05:06:07 UTC"}}`,
			want: Event{Kind: KindPullRequest, PullRequest: &PullRequest{Number: 3, HeadSHA: "def", HeadRef: "f", Base: "main",
				Sender: "ann", Action: "synchronize", Time: time.Date(2025, 3, 4, 5, 6, 7, 0, time.UTC)}}},
		{name: "gitlab merge request opened by its author", provider: GitLab, header: http.Header{"X-Gitlab-Event": {"Merge Request Hook"}},
			body: `{"user":{"id":6,"username":"bea"},"object_attributes":{"iid":4,"action":"open","author_id":6,
				"source_branch":"g","target_branch":"main","source_project_id":1,"target_project_id":1,"last_commit":{"id":"ef0"}}}`,
			want: Event{Kind: KindPullRequest, PullRequest: &PullRequest{Number: 4, HeadSHA: "ef0", HeadRef: "g", Base: "main",
				Author: "bea", Sender: "bea", Action: "opened"}}},
		{name: "gitlab merge request without project ids is a fork", provider: GitLab, header: http.Header{"X-Gitlab-Event": {"Merge Request Hook"}},
			body: `{"user":{"id":6,"username":"bea"},"object_attributes":{"iid":4,"action":"reopen","last_commit":{"id":"ef0"}}}`,
			want: Event{Kind: KindPullRequest, PullRequest: &PullRequest{Number: 4, HeadSHA: "ef0", Sender: "bea", Fork: true, Action: "reopened"}}},
		// A label, title or assignee edit is an update without oldrev.
		{name: "gitlab label edit is ignored", provider: GitLab, header: http.Header{"X-Gitlab-Event": {"Merge Request Hook"}},
			body: `{"user":{"id":1,"username":"maintainer"},"object_attributes":{"iid":3,"action":"update","last_commit":{"id":"def"}},
				"changes":{"labels":{"previous":[],"current":[{"title":"ok"}]}}}`,
			want: Event{Kind: KindIgnored}},
		{name: "gitlab approval is ignored", provider: GitLab, header: http.Header{"X-Gitlab-Event": {"Merge Request Hook"}},
			body: `{"user":{"username":"maintainer"},"object_attributes":{"iid":3,"action":"approved","last_commit":{"id":"def"}}}`,
			want: Event{Kind: KindIgnored}},
		{name: "gitlab unknown action is ignored", provider: GitLab, header: http.Header{"X-Gitlab-Event": {"Merge Request Hook"}},
			body: `{"user":{"username":"maintainer"},"object_attributes":{"iid":3,"action":"something-new","last_commit":{"id":"def"}}}`,
			want: Event{Kind: KindIgnored}},
		{name: "generic pull request", provider: Generic,
			body: `{"type":"pullRequest","pullRequest":{"number":2,"headSHA":"aa","base":"main","sender":"ci-bot","action":"opened"}}`,
			want: Event{Kind: KindPullRequest, PullRequest: &PullRequest{Number: 2, HeadSHA: "aa", Base: "main", Sender: "ci-bot", Action: "opened"}}},
		{name: "generic unknown action is ignored", provider: Generic,
			body: `{"type":"pullRequest","pullRequest":{"number":2,"headSHA":"aa","action":"labeled"}}`,
			want: Event{Kind: KindIgnored}},
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

// A replay of a signed body carries the same ID whatever its unsigned
// headers say; GitLab's delivery headers name its deliveries.
func TestDeliveryID(t *testing.T) {
	body := []byte(`{"action":"opened"}`)
	first := DeliveryID(GitHub, http.Header{"X-Github-Delivery": {"1"}}, body)
	if DeliveryID(GitHub, http.Header{"X-Github-Delivery": {"2"}}, body) != first {
		t.Error("a GitHub replay with a new X-GitHub-Delivery got a new ID")
	}
	if DeliveryID(GitHub, nil, []byte(`{"action":"closed"}`)) == first || DeliveryID(Generic, nil, body) == first {
		t.Error("another body, or another provider, got the same ID")
	}
	a := DeliveryID(GitLab, http.Header{"Idempotency-Key": {"k1"}, "X-Gitlab-Event-Uuid": {"u1"}}, body)
	if a != DeliveryID(GitLab, http.Header{"Idempotency-Key": {"k1"}, "X-Gitlab-Event-Uuid": {"u2"}}, body) {
		t.Error("GitLab's retries (one Idempotency-Key) got two IDs")
	}
	if DeliveryID(GitLab, http.Header{"X-Gitlab-Event-Uuid": {"u1"}}, body) == DeliveryID(GitLab, http.Header{"X-Gitlab-Event-Uuid": {"u2"}}, body) {
		t.Error("two GitLab events with one body got one ID")
	}
	if len(first) != 32 {
		t.Errorf("ID %q is not 32 hex characters", first)
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
