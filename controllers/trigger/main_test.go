package trigger

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/config"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	krtv1 "krt.dev/krt/api/v1alpha1"
	"krt.dev/krt/controllers/workflow"
	"krt.dev/krt/sources/git"
	"krt.dev/krt/test/kubetest"
	"krt.dev/krt/workflows/dag"
)

var (
	env *kubetest.Env
	// clockOffset moves the trigger's clock, so a cron tick comes at
	// once instead of in a minute.
	clockOffset atomic.Int64
	fakeAPI     = &fakeProvider{}
	stopManager func()
	// gitCache outlives a manager restart, as the controller's disk does.
	gitCache *git.Cache
)

// TestMain runs the trigger controller and the WorkflowRun engine
// in-process against a real API server. No runtime pods run: the tests
// finish Runs themselves. Tests of head definitions serve real git
// repositories over HTTP.
func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	var err error
	if env, err = kubetest.Start(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer env.Stop()
	var out io.Writer = io.Discard
	if os.Getenv("KRT_TEST_LOG") != "" {
		out = os.Stderr
	}
	ctrl.SetLogger(zap.New(zap.WriteTo(out), zap.UseDevMode(true)))
	srv := httptest.NewServer(fakeAPI)
	defer srv.Close()
	fakeAPI.url = srv.URL
	cacheDir, err := os.MkdirTemp("", "krt-trigger-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(cacheDir)
	if gitCache, err = git.NewCache(cacheDir); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	if stopManager, err = startManager(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer func() { stopManager() }()
	return m.Run()
}

// startManager starts a manager with both controllers, and returns what
// stops it and waits until it has stopped.
func startManager() (func(), error) {
	mgr, err := ctrl.NewManager(env.Config, ctrl.Options{
		Scheme: env.Scheme, Metrics: metricsserver.Options{BindAddress: "0"}, HealthProbeBindAddress: "0",
		// A restarted manager registers the same controller names again.
		Controller: config.Controller{SkipNameValidation: ptr.To(true)},
	})
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	if err := workflow.SetupWithManager(ctx, mgr, nil, workflow.Options{Workers: 4}); err != nil {
		cancel()
		return nil, err
	}
	now := func() time.Time { return time.Now().Add(time.Duration(clockOffset.Load())) }
	if err := SetupWithManager(ctx, mgr, Options{Workers: 2, Now: now, HTTPClient: &http.Client{Timeout: 5 * time.Second},
		GitCache: gitCache}); err != nil {
		cancel()
		return nil, err
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := mgr.Start(ctx); err != nil {
			fmt.Fprintln(os.Stderr, "manager:", err)
		}
	}()
	return func() { cancel(); <-done }, nil
}

// restartManager stops the manager and starts a new one, as a controller
// restart would.
func restartManager(t *testing.T) {
	t.Helper()
	stopManager()
	var err error
	if stopManager, err = startManager(); err != nil {
		t.Fatal(err)
	}
}

// call is one commit status request the fake provider received.
type call struct {
	Path, Auth, Token string
	Body              map[string]any
}

// fakeProvider is GitHub's and GitLab's commit status endpoints.
type fakeProvider struct {
	url   string
	mu    sync.Mutex
	calls []call
}

func (f *fakeProvider) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var body map[string]any
	_ = json.NewDecoder(r.Body).Decode(&body)
	if r.Method != http.MethodPost {
		http.Error(w, "want POST", http.StatusMethodNotAllowed)
		return
	}
	f.mu.Lock()
	f.calls = append(f.calls, call{Path: r.URL.EscapedPath(), Auth: r.Header.Get("Authorization"), Token: r.Header.Get("PRIVATE-TOKEN"), Body: body})
	f.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusCreated)
	_, _ = w.Write([]byte(`{}`))
}

// callsTo lists the requests to one path.
func (f *fakeProvider) callsTo(path string) []call {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []call
	for _, c := range f.calls {
		if c.Path == path {
			out = append(out, c)
		}
	}
	return out
}

const waitFor = 30 * time.Second

// eventually polls until ok, or fails the test with what it last saw.
func eventually(t *testing.T, what string, ok func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(waitFor)
	last := ""
	for time.Now().Before(deadline) {
		var done bool
		if done, last = ok(); done {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("timed out waiting for %s; last: %s", what, last)
}

// consistently checks ok for a while, failing at its first false.
func consistently(t *testing.T, what string, d time.Duration, ok func() (bool, string)) {
	t.Helper()
	for end := time.Now().Add(d); time.Now().Before(end); time.Sleep(100 * time.Millisecond) {
		if good, last := ok(); !good {
			t.Fatalf("%s: %s", what, last)
		}
	}
}

// check fails the test now unless ok: a negative check that is run once
// an event has shown the trigger weighed what it checks.
func check(t *testing.T, what string, ok func() (bool, string)) {
	t.Helper()
	if good, last := ok(); !good {
		t.Fatalf("%s: %s", what, last)
	}
}

// runsOf lists a workflow's runs by name.
func runsOf(t *testing.T, ns, wf string) []string {
	t.Helper()
	list := &krtv1.WorkflowRunList{}
	if err := env.Client.List(context.Background(), list, client.InNamespace(ns)); err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, wr := range list.Items {
		if wr.Spec.Workflow == wf {
			out = append(out, wr.Name)
		}
	}
	return out
}

// waitRun waits for a run to exist and reach phase.
func waitRun(t *testing.T, ns, name string, phase krtv1.WorkflowRunPhase) *krtv1.WorkflowRun {
	t.Helper()
	wr := &krtv1.WorkflowRun{}
	eventually(t, fmt.Sprintf("run %s to be %s", name, phase), func() (bool, string) {
		if err := env.Client.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: name}, wr); err != nil {
			return false, err.Error()
		}
		return wr.Status.Phase == phase, fmt.Sprintf("phase %q message %q", wr.Status.Phase, wr.Status.Message)
	})
	return wr
}

// finishStep plays runtimed: it ends the Run of a run's node.
func finishStep(t *testing.T, ns, wr, node string, phase krtv1.RunPhase) {
	t.Helper()
	run, owner := &krtv1.Run{}, &krtv1.WorkflowRun{}
	if err := env.Client.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: wr}, owner); err != nil {
		t.Fatal(err)
	}
	key := client.ObjectKey{Namespace: ns, Name: dag.RunName(wr, string(owner.UID), node)}
	eventually(t, "the Run of "+wr+"/"+node, func() (bool, string) {
		err := env.Client.Get(context.Background(), key, run)
		return err == nil, fmt.Sprint(err)
	})
	run.Status.Attempt = 1
	run.Finish(phase, string(phase), "", time.Now())
	if err := env.Client.Status().Update(context.Background(), run); err != nil {
		t.Fatal(err)
	}
}
