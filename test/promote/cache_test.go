package promote

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
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
// logs prints the step's whole output from the archive.
func TestLogsOutliveThePod(t *testing.T) {
	ctx := context.Background()
	ns := hub.env.Namespace(t)
	storeRuntime(t, hub, ns, "bash", krtv1.ArtifactStoreSpec{Filesystem: &krtv1.FilesystemStore{Path: t.TempDir()}})
	createWorkflow(t, ns, "chatty", krtv1.Step{Name: "talk", Runtime: "bash", Run: `for i in $(seq 1 500); do echo "line $i"; done; echo done >&2`})
	manualRun(t, ns, "chatty", "chatty-1", nil)
	wr := waitRun(t, ns, "chatty-1", "finish", func(wr *krtv1.WorkflowRun) bool { return wr.Status.Phase.Terminal() })
	if wr.Status.Phase != krtv1.WorkflowSucceeded {
		t.Fatalf("run: %s", describe(wr))
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
}
