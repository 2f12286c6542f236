package ui

import (
	"bufio"
	"context"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"

	krtv1 "krt.dev/krt/api/v1alpha1"
	"krt.dev/krt/cmd/krt/ui"
)

// session signs in over plain HTTP with Local mode's URL, and returns
// the session cookie and the CSRF token of a page.
func session(t *testing.T, u uiServer, page string) (cookie, csrf string) {
	t.Helper()
	resp, _ := get(t, u.login, "")
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("signing in: HTTP %d, want 303", resp.StatusCode)
	}
	for _, c := range resp.Cookies() {
		if c.Name == "krt_session" {
			cookie = c.Name + "=" + c.Value
		}
	}
	_, body := get(t, u.base+page, cookie)
	if m := regexp.MustCompile(`name="csrf" value="([^"]+)"`).FindStringSubmatch(body); m != nil {
		csrf = m[1]
	}
	return cookie, csrf
}

func post(t *testing.T, u uiServer, path, cookie string, form url.Values, origin string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, u.base+path, strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if cookie != "" {
		req.Header.Set("Cookie", cookie)
	}
	if origin != "" {
		req.Header.Set("Origin", origin)
	}
	return send(t, req)
}

// Without a session every page, stream and action is 401, and says
// nothing of the namespace.
func TestNoCredentials(t *testing.T) {
	ns := env.Namespace(t)
	runtime(t, ns, "bash")
	startRun(t, workflow(t, ns, "gate.yaml", nil), "gate-anon")
	u := serveUI(t, env.Config, ns)
	for _, p := range []string{"/", "/ns/" + ns + "/runs", "/ns/" + ns + "/runs/gate-anon", "/ns/" + ns + "/runs/gate-anon/events",
		"/ns/" + ns + "/runs/gate-anon/nodes/approve/logs", "/ns/" + ns + "/workflows", "/ns/" + ns + "/runs-events"} {
		resp, body := get(t, u.base+p, "")
		if resp.StatusCode != http.StatusUnauthorized || strings.Contains(body, "gate-anon") {
			t.Errorf("GET %s without credentials: HTTP %d, want 401 and nothing of the run", p, resp.StatusCode)
		}
	}
	resp, _ := post(t, u, "/ns/"+ns+"/runs/gate-anon/cancel", "", url.Values{}, "")
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("cancel without credentials: HTTP %d, want 401", resp.StatusCode)
	}
	if resp, _ := get(t, u.base+"/login?token=guess", ""); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("a guessed sign-in token: HTTP %d, want 401", resp.StatusCode)
	}
}

// An approval without the page's CSRF token, or from another origin, is
// refused and decides nothing; with both it goes through.
func TestApproveNeedsCSRF(t *testing.T) {
	ns := env.Namespace(t)
	runtime(t, ns, "bash")
	startRun(t, workflow(t, ns, "gate.yaml", nil), "gate-1")
	waitRun(t, ns, "gate-1", "wait for approval", func(wr *krtv1.WorkflowRun) bool { return nodePhase(wr, "approve") == krtv1.NodeWaiting })
	u := serveUI(t, user(t, ns, "rita"), ns)
	cookie, csrf := session(t, u, "/ns/"+ns+"/runs/gate-1/nodes/approve")
	if csrf == "" {
		t.Fatal("the gate's page has no CSRF token")
	}
	path := "/ns/" + ns + "/runs/gate-1/decide"
	for _, tc := range []struct {
		name   string
		form   url.Values
		origin string
	}{
		{"no token", url.Values{"step": {"approve"}, "decision": {"approve"}}, ""},
		{"a wrong token", url.Values{"step": {"approve"}, "decision": {"approve"}, "csrf": {"x" + csrf}}, ""},
		{"another origin", url.Values{"step": {"approve"}, "decision": {"approve"}, "csrf": {csrf}}, "http://evil.example"},
	} {
		if resp, _ := post(t, u, path, cookie, tc.form, tc.origin); resp.StatusCode != http.StatusForbidden {
			t.Errorf("approve with %s: HTTP %d, want 403", tc.name, resp.StatusCode)
		}
	}
	approvals := &krtv1.ApprovalList{}
	if err := env.Client.List(context.Background(), approvals, client.InNamespace(ns)); err != nil || len(approvals.Items) > 0 {
		t.Fatalf("refused approvals made %d Approvals (%v)", len(approvals.Items), err)
	}
	resp, _ := post(t, u, path, cookie, url.Values{"step": {"approve"}, "decision": {"approve"}, "csrf": {csrf}}, u.base)
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("approve with the token: HTTP %d, want 303", resp.StatusCode)
	}
	waitRun(t, ns, "gate-1", "succeed", func(wr *krtv1.WorkflowRun) bool { return wr.Status.Phase == krtv1.WorkflowSucceeded })
}

// A user whom RBAC grants nothing in a namespace sees nothing of it: not
// its runs, workflows, repositories or runtimes, nor their streams.
func TestNoRBACSeesNothing(t *testing.T) {
	ns := env.Namespace(t)
	runtime(t, ns, "bash")
	startRun(t, workflow(t, ns, "gate.yaml", nil), "secret-plans")
	cfg, err := env.UserConfig("carol", "developers")
	if err != nil {
		t.Fatal(err)
	}
	u := serveUI(t, cfg, ns)
	cookie, _ := session(t, u, "/")
	for _, p := range []string{"/ns/" + ns + "/runs", "/ns/" + ns + "/runs?partial=1", "/ns/" + ns + "/runs/secret-plans",
		"/ns/" + ns + "/runs/secret-plans/dag", "/ns/" + ns + "/runs/secret-plans/events", "/ns/" + ns + "/runs-events",
		"/ns/" + ns + "/runs/secret-plans/nodes/approve/logs", "/ns/" + ns + "/workflows", "/ns/" + ns + "/repositories", "/ns/" + ns + "/runtimes"} {
		resp, body := get(t, u.base+p, cookie)
		if resp.StatusCode != http.StatusForbidden || strings.Contains(body, "secret-plans") || strings.Contains(body, "approve") {
			t.Errorf("GET %s as carol: HTTP %d, want 403 and nothing of the namespace:\n%.1500s", p, resp.StatusCode, body)
		}
	}
}

// The log the UI shows is runtimed's, masked as `krt logs` shows it.
func TestLogsMasked(t *testing.T) {
	ns := env.Namespace(t)
	const secret = "s3cr3t-4a7f0c2e9b"
	s := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "deploy-token", Namespace: ns}, StringData: map[string]string{"token": secret}}
	if err := env.Client.Create(context.Background(), s); err != nil {
		t.Fatal(err)
	}
	runtime(t, ns, "bash", "deploy-token")
	startRun(t, workflow(t, ns, "secret.yaml", nil), "secret-1")
	waitRun(t, ns, "secret-1", "succeed", func(wr *krtv1.WorkflowRun) bool { return wr.Status.Phase == krtv1.WorkflowSucceeded })
	u := serveUI(t, user(t, ns, "lou"), ns)
	cookie, _ := session(t, u, "/")
	log := readLog(t, u.base+"/ns/"+ns+"/runs/secret-1/nodes/leak/logs", cookie)
	if !strings.Contains(log, "the token is ***") || strings.Contains(log, secret) {
		t.Fatalf("the UI's log of the step is not masked as the CLI's:\n%s", log)
	}
}

// readLog reads a node's log stream to its end.
func readLog(t *testing.T, url, cookie string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Cookie", cookie)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var lines []string
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		if sc.Text() == "event: end" {
			break
		}
		if d, ok := strings.CutPrefix(sc.Text(), "data: "); ok {
			lines = append(lines, d)
		}
	}
	return strings.Join(lines, "\n")
}

// The in-cluster sign-in: a bearer token, checked by the API server, kept
// server-side; the browser gets only a Secure, HttpOnly, SameSite=Strict
// cookie with a random id.
func TestTokenSignIn(t *testing.T) {
	ns := env.Namespace(t)
	ctx := context.Background()
	sa := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "viewer", Namespace: ns}}
	if err := env.Client.Create(ctx, sa); err != nil {
		t.Fatal(err)
	}
	bind(t, ns, "unused") // makes the Role
	rb := &rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Name: "viewer", Namespace: ns},
		RoleRef:  rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: "ui-user"},
		Subjects: []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Name: "viewer", Namespace: ns}}}
	if err := env.Client.Create(ctx, rb); err != nil {
		t.Fatal(err)
	}
	cs := kubernetes.NewForConfigOrDie(env.Config)
	tr, err := cs.CoreV1().ServiceAccounts(ns).CreateToken(ctx, "viewer", &authenticationv1.TokenRequest{}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	base := startServer(t, ui.Options{Mode: ui.Token, Config: rest.AnonymousClientConfig(env.Config), Namespace: ns})
	u := uiServer{base: base}
	if resp, _ := post(t, u, "/login", "", url.Values{"token": {"not-a-token"}}, ""); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("a bad token: HTTP %d, want 401", resp.StatusCode)
	}
	resp, _ := post(t, u, "/login", "", url.Values{"token": {tr.Status.Token}, "next": {"/ns/" + ns + "/runs"}}, "")
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/ns/"+ns+"/runs" {
		t.Fatalf("signing in with the token: HTTP %d to %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	var ck *http.Cookie
	for _, c := range resp.Cookies() {
		if c.Name == "krt_session" {
			ck = c
		}
	}
	if ck == nil || !ck.Secure || !ck.HttpOnly || ck.SameSite != http.SameSiteStrictMode || strings.Contains(ck.Value, tr.Status.Token[:20]) {
		t.Fatalf("session cookie %+v: want Secure, HttpOnly, SameSite=Strict and no token in it", ck)
	}
	r, body := get(t, u.base+"/ns/"+ns+"/runs", ck.Name+"="+ck.Value)
	if r.StatusCode != http.StatusOK || !strings.Contains(body, "system:serviceaccount:"+ns+":viewer") {
		t.Fatalf("the runs page as the ServiceAccount: HTTP %d:\n%.1000s", r.StatusCode, body)
	}
}
