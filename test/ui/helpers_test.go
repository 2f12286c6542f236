package ui

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	krtv1 "krt.dev/krt/api/v1alpha1"
	"krt.dev/krt/cmd/krt/ui"
	"krt.dev/krt/test/kubetest"
	"krt.dev/krt/workflows/parse"
)

// eventually polls cond until it holds, failing with its last word.
func eventually(t *testing.T, timeout time.Duration, what string, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	last := ""
	for time.Now().Before(deadline) {
		ok, why := cond()
		if ok {
			return
		}
		last = why
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("timed out after %s waiting for %s: %s%s", timeout, what, last, stack.ControllerState())
}

// uiServer is one UI server, serving as one user.
type uiServer struct {
	base, login string
}

// serveUI starts a Local-mode UI acting with cfg's credentials, as
// `krt ui` does with a kubeconfig.
func serveUI(t *testing.T, cfg *rest.Config, ns string) uiServer {
	t.Helper()
	token := ui.NewLoginToken()
	base := startServer(t, ui.Options{Mode: ui.Local, Config: cfg, Namespace: ns, LoginToken: token})
	return uiServer{base: base, login: ui.LoginURL(base, token, "")}
}

func startServer(t *testing.T, o ui.Options) string {
	t.Helper()
	s, err := ui.New(o)
	if err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := s.Serve(ctx, l); err != nil {
			t.Errorf("ui: %v", err)
		}
	}()
	t.Cleanup(func() { cancel(); <-done })
	return "http://" + l.Addr().String()
}

// signIn is the page to open first: the login URL landing on next.
func (u uiServer) signIn(next string) string { return u.login + "&next=" + next }

// user is a person with a client certificate, whom the Role grants what a
// release engineer needs to watch runs and decide approvals.
func user(t *testing.T, ns, name string, groups ...string) *rest.Config {
	t.Helper()
	cfg, err := env.UserConfig(name, groups...)
	if err != nil {
		t.Fatal(err)
	}
	bind(t, ns, name)
	return cfg
}

// bind grants name, in ns, what the UI reads and the actions it takes.
func bind(t *testing.T, ns, name string) {
	t.Helper()
	ctx := context.Background()
	role := &rbacv1.Role{ObjectMeta: metav1.ObjectMeta{Name: "ui-user", Namespace: ns}, Rules: []rbacv1.PolicyRule{
		{APIGroups: []string{"krt.dev"}, Resources: []string{"workflowruns", "workflows", "runs", "runtimes", "workflowrepositories", "clusters"},
			Verbs: []string{"get", "list", "watch"}},
		{APIGroups: []string{"krt.dev"}, Resources: []string{"approvals", "workflowruns"}, Verbs: []string{"create"}},
		{APIGroups: []string{"krt.dev"}, Resources: []string{"workflowruns"}, Verbs: []string{"patch"}},
		{APIGroups: []string{""}, Resources: []string{"pods"}, Verbs: []string{"get", "list"}},
	}}
	if err := env.Client.Create(ctx, role); client.IgnoreAlreadyExists(err) != nil {
		t.Fatal(err)
	}
	rb := &rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Name: "ui-user-" + name, Namespace: ns},
		RoleRef:  rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: "ui-user"},
		Subjects: []rbacv1.Subject{{APIGroup: rbacv1.GroupName, Kind: rbacv1.UserKind, Name: name}}}
	if err := env.Client.Create(ctx, rb); err != nil {
		t.Fatal(err)
	}
}

// runtime creates a bash Runtime and waits for its local pod.
func runtime(t *testing.T, ns, name string, secrets ...string) {
	t.Helper()
	rt := &krtv1.Runtime{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
		Spec: krtv1.RuntimeSpec{Replicas: ptr.To[int32](1), Capacity: 8, Secrets: secrets,
			Languages: []krtv1.Language{krtv1.LanguageBash, krtv1.LanguagePython}}}
	if err := env.Client.Create(context.Background(), rt); err != nil {
		t.Fatal(err)
	}
	eventually(t, 2*time.Minute, "runtime "+ns+"/"+name+" to be ready", func() (bool, string) {
		cur := &krtv1.Runtime{}
		if err := env.Client.Get(context.Background(), client.ObjectKeyFromObject(rt), cur); err != nil {
			return false, err.Error()
		}
		return cur.Status.ReadyPods >= 1, fmt.Sprintf("%d ready pods", cur.Status.ReadyPods)
	})
}

// register makes a namespace of this same API server a Cluster of the
// hub: a step with `cluster: name` runs its Run there, through the
// Cluster's kubeconfig, as it would in another cluster.
func register(t *testing.T, hubNS, name string) {
	t.Helper()
	ctx := context.Background()
	remote := env.Namespace(t)
	runtime(t, remote, "deployer")
	kubeconfig, err := os.ReadFile(env.Kubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	secret := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: name + "-kubeconfig", Namespace: hubNS},
		Data: map[string][]byte{"value": kubeconfig}}
	if err := env.Client.Create(ctx, secret); err != nil {
		t.Fatal(err)
	}
	cl := &krtv1.Cluster{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: hubNS}, Spec: krtv1.ClusterSpec{
		KubeconfigSecretRef: krtv1.SecretKeySelector{Name: secret.Name, Key: "value"}, Namespace: remote}}
	if err := env.Client.Create(ctx, cl); err != nil {
		t.Fatal(err)
	}
	eventually(t, time.Minute, "cluster "+name+" to be Ready", func() (bool, string) {
		cur := &krtv1.Cluster{}
		if err := env.Client.Get(ctx, client.ObjectKeyFromObject(cl), cur); err != nil {
			return false, err.Error()
		}
		ready := apimeta.FindStatusCondition(cur.Status.Conditions, krtv1.ConditionReady)
		return ready != nil && ready.Status == metav1.ConditionTrue, fmt.Sprint(cur.Status.Conditions)
	})
}

// workflow parses a file of testdata, as the source controller would,
// and creates its Workflow in ns.
func workflow(t *testing.T, ns, file string, edit func(string) string) *krtv1.Workflow {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", file))
	if err != nil {
		t.Fatal(err)
	}
	if edit != nil {
		data = []byte(edit(string(data)))
	}
	docs, errs := parse.File(file, data)
	if len(errs) > 0 {
		t.Fatalf("%s: %v", file, errs)
	}
	wf, ok := docs[0].Object.(*krtv1.Workflow)
	if !ok {
		t.Fatalf("%s holds a %T, not a Workflow", file, docs[0].Object)
	}
	wf.Namespace = ns
	if err := env.Client.Create(context.Background(), wf); err != nil {
		t.Fatal(err)
	}
	return wf
}

// startRun starts wf by hand, as the admin, as `krt wf trigger` would.
func startRun(t *testing.T, wf *krtv1.Workflow, name string) {
	t.Helper()
	wr := &krtv1.WorkflowRun{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: wf.Namespace, Labels: map[string]string{"krt.dev/workflow": wf.Name}},
		Spec: krtv1.WorkflowRunSpec{Workflow: wf.Name, Definition: wf.Spec, Revision: "main@sha1:0123456789abcdef0123456789abcdef01234567",
			Event: krtv1.WorkflowEvent{Type: krtv1.EventManual, Manual: &krtv1.ManualEvent{User: kubetest.AdminUser}}},
	}
	if err := env.Client.Create(context.Background(), wr); err != nil {
		t.Fatal(err)
	}
}

// waitRun waits until the WorkflowRun satisfies cond.
func waitRun(t *testing.T, ns, name, what string, cond func(*krtv1.WorkflowRun) bool) *krtv1.WorkflowRun {
	t.Helper()
	wr := &krtv1.WorkflowRun{}
	eventually(t, 2*time.Minute, "run "+name+" to "+what, func() (bool, string) {
		if err := env.Client.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: name}, wr); err != nil {
			return false, err.Error()
		}
		return cond(wr), describe(wr)
	})
	return wr
}

func describe(wr *krtv1.WorkflowRun) string {
	var b strings.Builder
	fmt.Fprintf(&b, "phase %s %q; nodes:", wr.Status.Phase, wr.Status.Message)
	for _, n := range wr.Status.Nodes {
		fmt.Fprintf(&b, " %s=%s(%s)", n.Name, n.Phase, n.Message)
	}
	return b.String()
}

func nodePhase(wr *krtv1.WorkflowRun, name string) krtv1.NodePhase {
	for _, n := range wr.Status.Nodes {
		if n.Name == name {
			return n.Phase
		}
	}
	return ""
}

// browser is a fresh headless Chromium, laptop-sized.
func browser(t *testing.T) context.Context {
	t.Helper()
	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(chromium), chromedp.NoSandbox,
		chromedp.WindowSize(1440, 900), chromedp.Flag("disable-gpu", true), chromedp.Flag("disable-dev-shm-usage", true))
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(actx)
	t.Cleanup(func() { cancel(); cancelAlloc() })
	if err := chromedp.Do(ctx); err != nil { // starts the browser, with no deadline
		t.Fatalf("starting chromium: %v", err)
	}
	return ctx
}

// do runs browser actions, each call with a minute's deadline.
func do(t *testing.T, ctx context.Context, what string, actions ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	tctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	if err := chromedp.Do(tctx, actions...); err != nil {
		t.Fatalf("%s: %v\npage: %.3000s", what, err, pageHTML(ctx))
	}
}

// submit clicks a form's button and waits for the page the server
// answers with, returning its HTTP status.
func submit(t *testing.T, ctx context.Context, what, button string) int64 {
	t.Helper()
	tctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	resp, err := chromedp.RunResponse(tctx, chromedp.Click(chromedp.CSS(button)))
	if err != nil {
		t.Fatalf("%s: %v\npage: %.3000s", what, err, pageHTML(ctx))
	}
	return resp.Status
}

// eval evaluates JavaScript in the page.
func eval[T any](t *testing.T, ctx context.Context, js string) T {
	t.Helper()
	tctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	v, err := chromedp.Run(tctx, chromedp.Evaluate[T](js))
	if err != nil {
		t.Fatalf("evaluating %s: %v", js, err)
	}
	return v
}

func pageHTML(ctx context.Context) string {
	tctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	html, _ := chromedp.Run(tctx, chromedp.OuterHTML(chromedp.CSS("main")))
	return html
}

// waitJS polls a JavaScript condition in the page until it is true.
func waitJS(t *testing.T, ctx context.Context, d time.Duration, what, js string) {
	t.Helper()
	deadline := time.Now().Add(d)
	for {
		tctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		ok, err := chromedp.Run(tctx, chromedp.Evaluate[bool](js))
		cancel()
		if err == nil && ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting in the browser for %s (%v)\npage: %.4000s", d, what, err, pageHTML(ctx))
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// screenshot writes the page to the screenshots folder.
func screenshot(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	dir := os.Getenv("KRT_UI_SCREENSHOTS")
	if dir == "" {
		dir = "screenshots"
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	tctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	png, err := chromedp.Run(tctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatalf("screenshot %s: %v", name, err)
	}
	if err := os.WriteFile(filepath.Join(dir, name+".png"), png, 0o644); err != nil {
		t.Fatal(err)
	}
}

// get requests path with a session cookie (or none), for the tests that
// need no browser.
func get(t *testing.T, url, cookie string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	if cookie != "" {
		req.Header.Set("Cookie", cookie)
	}
	return send(t, req)
}

func send(t *testing.T, req *http.Request) (*http.Response, string) {
	t.Helper()
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	return resp, string(body)
}
