package ui

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"

	"krt.dev/krt/api/scheme"
	krtv1 "krt.dev/krt/api/v1alpha1"
)

// testServer serves the UI over a fake API server, with one session, so
// that pages can be checked without a cluster (test/ui does it with one).
func testServer(t *testing.T, objs ...krtv1Object) (*httptest.Server, *session) {
	t.Helper()
	s, err := New(Options{Mode: Local, Namespace: "ns", LoginToken: "secret"})
	if err != nil {
		t.Fatal(err)
	}
	c := fake.NewClientBuilder().WithScheme(scheme.New()).WithObjects(objs...).WithStatusSubresource(objs...).Build()
	se := &session{id: "sid", csrf: "tok", c: fakeWatch{c}, user: authenticationv1.UserInfo{Username: "alice", Groups: []string{"ops"}},
		expires: time.Now().Add(time.Hour)}
	s.sess[se.id] = se
	ts := httptest.NewServer(s)
	t.Cleanup(ts.Close)
	return ts, se
}

func fetch(t *testing.T, ts *httptest.Server, method, path string, form url.Values, cookie bool) (int, string) {
	t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequestWithContext(context.Background(), method, ts.URL+path, body)
	if err != nil {
		t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	if cookie {
		req.AddCookie(&http.Cookie{Name: cookieName, Value: "sid"})
	}
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func gateRun() *krtv1.WorkflowRun {
	now := metav1.Now()
	return &krtv1.WorkflowRun{
		ObjectMeta: metav1.ObjectMeta{Name: "r1", Namespace: "ns", UID: "u1", CreationTimestamp: now},
		Spec: krtv1.WorkflowRunSpec{Workflow: "wf", Event: krtv1.WorkflowEvent{Type: krtv1.EventManual, Manual: &krtv1.ManualEvent{User: "alice"}},
			Definition: krtv1.WorkflowSpec{
				Steps: []krtv1.Step{{Name: "build", Runtime: "bash", Run: "make"},
					{Name: "gate", Needs: []string{"build"}, Approval: &krtv1.ApprovalGate{Approvers: []string{"group:ops"}}},
					{Name: "deploy", Needs: []string{"gate"}, Runtime: "bash", Run: "deploy it", ForEach: &krtv1.ForEach{Items: []string{"a", "b"}}}},
				Finally: []krtv1.Step{{Name: "notify", Runtime: "bash", Run: "echo done"}}}},
		Status: krtv1.WorkflowRunStatus{Phase: krtv1.WorkflowRunning, StartTime: &now, Nodes: []krtv1.NodeStatus{
			{Name: "build", Phase: krtv1.NodeSucceeded, Run: "r1-build", Outputs: map[string]string{"image": "web:1"}, Started: &now, Finished: &now,
				CacheHit: true, Artifacts: []krtv1.ArtifactRef{{Name: "dist", Digest: "sha256:" + strings.Repeat("d", 64), Size: 2048}}},
			{Name: "gate", Phase: krtv1.NodeWaiting}}},
	}
}

func TestPages(t *testing.T) {
	repo := &krtv1.WorkflowRepository{ObjectMeta: metav1.ObjectMeta{Name: "repo", Namespace: "ns"},
		Status: krtv1.WorkflowRepositoryStatus{ParseErrors: []krtv1.ParseError{{File: "workflows/bad.yaml", Line: 7, Message: "unknown field"}}}}
	ts, _ := testServer(t, gateRun(), repo)
	for _, tc := range []struct{ path, want string }{
		{"/ns/ns/runs", `href="/ns/ns/runs/r1"`},
		{"/ns/ns/runs?partial=1", "r1"},
		{"/ns/ns/runs/r1", `data-node="gate"`},
		{"/ns/ns/runs/r1/dag", `data-step="deploy"`},
		{"/ns/ns/runs/r1/nodes/build?partial=1", "web:1"},
		{"/ns/ns/runs/r1/nodes/build?partial=1", "sha256:dddd"},
		{"/ns/ns/runs/r1/nodes/build?partial=1", "Cache hit"},
		{"/ns/ns/runs/r1/nodes/gate?partial=1", "deploy it"},
		{"/ns/ns/runs/r1/nodes/gate", `id="approve"`},
		{"/ns/ns/repositories", "workflows/bad.yaml:7"},
		{"/ns/ns/workflows", "No Workflows"},
		{"/ns/ns/runtimes", "No Runtimes"},
	} {
		code, body := fetch(t, ts, http.MethodGet, tc.path, nil, true)
		if code != http.StatusOK || !strings.Contains(body, tc.want) {
			t.Errorf("GET %s: %d, want 200 and %q in:\n%.2000s", tc.path, code, tc.want, body)
		}
	}
}

func TestRefusals(t *testing.T) {
	ts, _ := testServer(t, gateRun())
	if code, _ := fetch(t, ts, http.MethodGet, "/ns/ns/runs", nil, false); code != http.StatusUnauthorized {
		t.Errorf("without a session: %d, want 401", code)
	}
	if code, _ := fetch(t, ts, http.MethodGet, "/login?token=wrong", nil, false); code != http.StatusUnauthorized {
		t.Errorf("with a wrong sign-in token: %d, want 401", code)
	}
	form := url.Values{"step": {"gate"}, "decision": {"approve"}}
	if code, _ := fetch(t, ts, http.MethodPost, "/ns/ns/runs/r1/decide", form, true); code != http.StatusForbidden {
		t.Errorf("approve without a CSRF token: %d, want 403", code)
	}
	form.Set("csrf", "tok")
	code, body := fetch(t, ts, http.MethodPost, "/ns/ns/runs/r1/decide", form, true)
	if code != http.StatusSeeOther {
		t.Errorf("approve with the CSRF token: %d, want 303: %.2000s", code, body)
	}
}

func TestSafeNext(t *testing.T) {
	for in, want := range map[string]string{"/ns/a/runs": "/ns/a/runs", "//evil.example/": "/", "https://evil.example/": "/", `/\evil`: "/", "": "/"} {
		if got := safeNext(in); got != want {
			t.Errorf("safeNext(%q) = %q, want %q", in, got, want)
		}
	}
}
