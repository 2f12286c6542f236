package provider

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
)

type recorded struct {
	path, auth, token string
	body              map[string]any
}

// fakeAPI implements the two commit status endpoints and records calls.
func fakeAPI(t *testing.T) (*httptest.Server, *[]recorded) {
	var calls []recorded
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var body map[string]any
		_ = json.NewDecoder(r.Body).Decode(&body)
		calls = append(calls, recorded{path: r.URL.EscapedPath(), auth: r.Header.Get("Authorization"), token: r.Header.Get("PRIVATE-TOKEN"), body: body})
		w.WriteHeader(http.StatusCreated)
		w.Write([]byte(`{}`))
	}))
	t.Cleanup(srv.Close)
	return srv, &calls
}

func TestGitHubCommitStatus(t *testing.T) {
	srv, calls := fakeAPI(t)
	r, err := New("github", "https://github.com/acme/web.git", srv.URL+"/", "tok", srv.Client())
	if err != nil {
		t.Fatal(err)
	}
	if err := r.SetStatus(context.Background(), Status{SHA: "abc123", Context: "krt/pr-checks", State: Success, Description: "3 steps"}); err != nil {
		t.Fatal(err)
	}
	c := (*calls)[0]
	if c.path != "/api/v3/repos/acme/web/statuses/abc123" || c.auth != "Bearer tok" || c.body["state"] != "success" || c.body["context"] != "krt/pr-checks" {
		t.Fatalf("request = %+v", c)
	}
}

func TestGitLabCommitStatus(t *testing.T) {
	srv, calls := fakeAPI(t)
	r, err := New("gitlab", "https://gitlab.example/group/web.git", srv.URL+"/api/v4", "tok", srv.Client())
	if err != nil {
		t.Fatal(err)
	}
	if err := r.SetStatus(context.Background(), Status{SHA: "def", Context: "krt/pr-checks", State: Failure}); err != nil {
		t.Fatal(err)
	}
	c := (*calls)[0]
	if c.path != "/api/v4/projects/group%2Fweb/statuses/def" || c.token != "tok" || c.body["state"] != "failed" || c.body["name"] != "krt/pr-checks" {
		t.Fatalf("request = %+v", c)
	}
}

func TestGenericHasNoReporter(t *testing.T) {
	if r, err := New("generic", "https://git.local/x", "", "", nil); r != nil || err != nil {
		t.Fatalf("New(generic) = %v, %v", r, err)
	}
}
