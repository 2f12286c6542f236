package promote

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	krtv1 "krt.dev/krt/api/v1alpha1"
)

const depsScript = `if [ -f .cache/deps ]; then echo "restored=yes" >> "$KRT_OUTPUTS"
else mkdir -p .cache && seq 1 1000 > .cache/deps && echo "restored=no" >> "$KRT_OUTPUTS"; fi`

const compileScript = `echo compiled >> "$LEDGER"; mkdir -p out && echo binary > out/app
echo "answer=42" >> "$KRT_OUTPUTS"`

// The second run of a workflow restores the first one's cache, and does
// not run its memoized step again: the ledger the step writes on every
// execution holds one line, and the step's outputs and artifact are the
// first run's.
func TestCacheAndMemoize(t *testing.T) {
	ns := hub.env.Namespace(t)
	storeRuntime(t, hub, ns, "bash", krtv1.ArtifactStoreSpec{Filesystem: &krtv1.FilesystemStore{Path: t.TempDir()}})
	ledger := filepath.Join(t.TempDir(), "ledger")
	createWorkflow(t, ns, "ci",
		krtv1.Step{Name: "deps", Runtime: "bash", Run: depsScript, Outputs: []string{"restored"},
			Cache: &krtv1.StepCache{Key: "deps-${{ run.workflow }}-v1", Paths: []string{".cache"}}},
		krtv1.Step{Name: "compile", Runtime: "bash", Run: compileScript, Memoize: true, Outputs: []string{"answer"},
			Env:       map[string]string{"LEDGER": ledger},
			Artifacts: &krtv1.StepArtifacts{Outputs: []krtv1.ArtifactOutput{{Name: "app", Path: "out"}}}})

	manualRun(t, ns, "ci", "ci-1", nil)
	first := waitRun(t, ns, "ci-1", "finish", func(wr *krtv1.WorkflowRun) bool { return wr.Status.Phase.Terminal() })
	if first.Status.Phase != krtv1.WorkflowSucceeded || node(first, "deps").Outputs["restored"] != "no" || node(first, "deps").CacheHit {
		t.Fatalf("first run: %s", describe(first))
	}
	manualRun(t, ns, "ci", "ci-2", nil)
	second := waitRun(t, ns, "ci-2", "finish", func(wr *krtv1.WorkflowRun) bool { return wr.Status.Phase.Terminal() })
	deps, compile := node(second, "deps"), node(second, "compile")
	if second.Status.Phase != krtv1.WorkflowSucceeded || deps.Outputs["restored"] != "yes" || !deps.CacheHit {
		t.Errorf("the second run did not restore the cache: %s (cacheHit %t)", describe(second), deps.CacheHit)
	}
	if !compile.Memoized || compile.Outputs["answer"] != "42" || len(compile.Artifacts) != 1 ||
		compile.Artifacts[0].Digest != node(first, "compile").Artifacts[0].Digest {
		t.Errorf("the memoized step: %+v", compile)
	}
	data, err := os.ReadFile(ledger)
	if err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(string(data), "compiled"); n != 1 {
		t.Errorf("the memoized step executed %d times, want 1", n)
	}
	out, code := krt(t, hub.env.Kubeconfig, "wf", "graph", "ci-2", "-n", ns)
	if code != 0 || !strings.Contains(out, "cache hit") || !strings.Contains(out, "memoized") {
		t.Errorf("krt wf graph does not show the hit: exit %d\n%s", code, out)
	}
}

// A step's log outlives its pod: once the runtime pod is deleted, krt wf
// logs prints the step's whole output from the archive; and its Run, once
// that is deleted too, even where the step picks its Runtime by an
// expression.
func TestLogsOutliveThePod(t *testing.T) {
	ctx := context.Background()
	ns := hub.env.Namespace(t)
	storeRuntime(t, hub, ns, "bash", krtv1.ArtifactStoreSpec{Filesystem: &krtv1.FilesystemStore{Path: t.TempDir()}})
	// The step's Runtime is an expression: only the engine, which made
	// the Run, knows which Runtime's store holds its log.
	wf := &krtv1.Workflow{ObjectMeta: metav1.ObjectMeta{Name: "chatty", Namespace: ns},
		Spec: krtv1.WorkflowSpec{On: krtv1.Triggers{Manual: &krtv1.ManualTrigger{}}, Params: []krtv1.Param{{Name: "rt"}},
			Steps: []krtv1.Step{{Name: "talk", Runtime: "${{ params.rt }}", Run: `for i in $(seq 1 500); do echo "line $i"; done; echo done >&2`}}}}
	if err := hub.env.Client.Create(ctx, wf); err != nil {
		t.Fatal(err)
	}
	manualRun(t, ns, "chatty", "chatty-1", map[string]string{"rt": "bash"})
	wr := waitRun(t, ns, "chatty-1", "finish", func(wr *krtv1.WorkflowRun) bool { return wr.Status.Phase.Terminal() })
	if wr.Status.Phase != krtv1.WorkflowSucceeded {
		t.Fatalf("run: %s", describe(wr))
	}
	if rt := node(wr, "talk").Runtime; rt != "bash" {
		t.Errorf("the node's status says its Run was made for Runtime %q, want bash", rt)
	}
	pods := &corev1.PodList{}
	if err := hub.env.Client.List(ctx, pods, client.InNamespace(ns)); err != nil || len(pods.Items) == 0 {
		t.Fatalf("%d runtime pods (%v)", len(pods.Items), err)
	}
	for i := range pods.Items {
		if err := hub.env.Client.Delete(ctx, &pods.Items[i]); err != nil {
			t.Fatal(err)
		}
	}
	out, code := krt(t, hub.env.Kubeconfig, "wf", "logs", "chatty-1", "-n", ns)
	if code != 0 || !strings.Contains(out, "\nline 1\n") || !strings.Contains(out, "\nline 500\n") || !strings.Contains(out, "done") {
		t.Errorf("krt wf logs once the pod is gone: exit %d\n%s", code, out)
	}

	// The Run itself deleted (its TTL, or kubectl delete) while its
	// WorkflowRun stays: the run's status still names it, and its
	// Runtime's store still holds its log.
	run := &krtv1.Run{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: node(wr, "talk").Run}}
	if err := hub.env.Client.Delete(ctx, run); err != nil {
		t.Fatal(err)
	}
	if err := hub.env.Client.Get(ctx, client.ObjectKeyFromObject(run), run); !apierrors.IsNotFound(err) {
		t.Fatalf("the Run is still there after its delete: %v", err)
	}
	out, code = krt(t, hub.env.Kubeconfig, "wf", "logs", "chatty-1", "-n", ns)
	if code != 0 || !strings.Contains(out, "(from the archive in ArtifactStore") || !strings.Contains(out, "\nline 500\n") {
		t.Errorf("krt wf logs once the Run is deleted: exit %d\n%s", code, out)
	}
}

const poisonScript = `if [ -f .cache/who ]; then echo "restored=$(cat .cache/who)" >> "$KRT_OUTPUTS"
else mkdir -p .cache && echo "$WHO" > .cache/who && echo "restored=none" >> "$KRT_OUTPUTS"; fi`

// A pull request's code cannot plant a cache entry that a push to its
// base branch restores: the PR writes its own scope only. It still reads
// its base branch's entries, and its own.
func TestPullRequestCannotPoisonTheCache(t *testing.T) {
	ns := hub.env.Namespace(t)
	storeRuntime(t, hub, ns, "bash", krtv1.ArtifactStoreSpec{Filesystem: &krtv1.FilesystemStore{Path: t.TempDir()}})
	createWorkflow(t, ns, "build", krtv1.Step{Name: "deps", Runtime: "bash", Run: poisonScript, Outputs: []string{"restored"},
		Env: map[string]string{"WHO": "${{ event.type }}"}, Cache: &krtv1.StepCache{Key: "deps", Paths: []string{".cache"}}})
	pr := func(n int64) krtv1.WorkflowEvent {
		return krtv1.WorkflowEvent{Type: krtv1.EventPullRequest, PullRequest: &krtv1.PullRequest{Number: n, HeadSHA: strings.Repeat("a", 40), Base: "main"}}
	}
	push := krtv1.WorkflowEvent{Type: krtv1.EventPush, Push: &krtv1.PushEvent{Revision: "main@sha1:" + strings.Repeat("b", 40), Branch: "main", Time: metav1.Now()}}
	steps := []struct {
		name string
		ev   krtv1.WorkflowEvent
		want string
	}{
		{"pr-9", pr(9), "none"},                       // the PR plants an entry in its own scope
		{"push-main", push, "none"},                   // main does not see it
		{"pr-9-again", pr(9), krtv1.EventPullRequest}, // the PR sees its own
		{"pr-10", pr(10), krtv1.EventPush},            // another PR reads main's
	}
	for _, s := range steps {
		eventRun(t, ns, "build", s.name, s.ev)
		wr := waitRun(t, ns, s.name, "finish", func(wr *krtv1.WorkflowRun) bool { return wr.Status.Phase.Terminal() })
		if got := node(wr, "deps").Outputs["restored"]; wr.Status.Phase != krtv1.WorkflowSucceeded || got != s.want {
			t.Errorf("%s restored %q, want %q: %s", s.name, got, s.want, describe(wr))
		}
	}
}

// eventRun starts a run of workflow for an event, as the trigger
// controller would.
func eventRun(t *testing.T, ns, workflow, name string, ev krtv1.WorkflowEvent) {
	t.Helper()
	wf := &krtv1.Workflow{}
	if err := hub.env.Client.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: workflow}, wf); err != nil {
		t.Fatal(err)
	}
	wr := &krtv1.WorkflowRun{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
		Spec: krtv1.WorkflowRunSpec{Workflow: workflow, Definition: wf.Spec, Event: ev}}
	if err := hub.env.Client.Create(context.Background(), wr); err != nil {
		t.Fatal(err)
	}
}
