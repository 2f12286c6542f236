package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	krtv1 "krt.dev/krt/api/v1alpha1"
	"krt.dev/krt/runtimed"
	"krt.dev/krt/runtimed/archive"
	"krt.dev/krt/runtimed/store"
)

func TestWfGraphShowsMemoizedAndCacheHit(t *testing.T) {
	var b strings.Builder
	wr := promoteRun(krtv1.WorkflowRunning,
		krtv1.NodeStatus{Name: "build", Phase: krtv1.NodeSucceeded, Attempt: 1, Memoized: true},
		krtv1.NodeStatus{Name: "deploy-staging", Phase: krtv1.NodeRunning, Attempt: 1, CacheHit: true})
	if err := wfRenderGraph(&b, wr, false); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.String(), "build            memoized") || !strings.Contains(b.String(), "cache hit") {
		t.Errorf("graph:\n%s\nwant build memoized and deploy-staging's cache hit", b.String())
	}
}

// storeFixture is a filesystem ArtifactStore that a Runtime names, and a
// finished Run of it whose pod is gone.
type storeFixture struct {
	st   *store.Store
	objs []client.Object
	run  *krtv1.Run
}

func newStoreFixture(t *testing.T) storeFixture {
	dir := t.TempDir()
	st, err := store.Open(context.Background(), store.Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	ns := "default"
	as := &krtv1.ArtifactStore{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "files"},
		Spec: krtv1.ArtifactStoreSpec{Filesystem: &krtv1.FilesystemStore{Path: dir}}}
	rt := &krtv1.Runtime{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "bash"},
		Spec: krtv1.RuntimeSpec{Image: "bash:5", ArtifactStore: as.Name}}
	run := &krtv1.Run{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "wr-build", UID: "0f0e-uid"},
		Spec:   krtv1.RunSpec{Runtime: rt.Name},
		Status: krtv1.RunStatus{Phase: krtv1.RunSucceeded, AssignedPod: "bash-gone", Attempt: 2}}
	return storeFixture{st: st, objs: []client.Object{as, rt, run}, run: run}
}

func TestWfArtifactsDownloads(t *testing.T) {
	f := newStoreFixture(t)
	src := t.TempDir()
	if err := os.WriteFile(filepath.Join(src, "app"), []byte("binary"), 0o755); err != nil {
		t.Fatal(err)
	}
	root, err := os.OpenRoot(src)
	if err != nil {
		t.Fatal(err)
	}
	defer root.Close()
	var packed bytes.Buffer
	if _, err := archive.Pack(&packed, root, []string{"app"}, archive.PackOptions{}); err != nil {
		t.Fatal(err)
	}
	digest := store.Digest(packed.Bytes())
	uri, err := f.st.PutBlob(context.Background(), digest, int64(packed.Len()), bytes.NewReader(packed.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	wr := &krtv1.WorkflowRun{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "wr"},
		Spec: krtv1.WorkflowRunSpec{Definition: krtv1.WorkflowSpec{Steps: []krtv1.Step{{Name: "build", Runtime: "bash", Run: "true"}}}},
		Status: krtv1.WorkflowRunStatus{Nodes: []krtv1.NodeStatus{{Name: "build", Run: f.run.Name, Phase: krtv1.NodeSucceeded,
			Artifacts: []krtv1.ArtifactRef{{Name: "bin", Digest: digest, Size: int64(packed.Len()), URI: uri}}}}}}
	// The Run deleted (its TTL) while its WorkflowRun stays: the step's
	// Runtime, from the definition, still names the store.
	for _, runGone := range []bool{false, true} {
		objs := append(f.objs, wr)
		if runGone {
			objs = []client.Object{f.objs[0], f.objs[1], wr}
		}
		out, stderr, code := runWith(t, objs, "wf", "artifacts", "wr", "-n", "default")
		if code != 0 || !strings.Contains(out, "build") || !strings.Contains(out, digest) {
			t.Fatalf("run gone %t, list: code %d\n%s%s", runGone, code, out, stderr)
		}
		dest := t.TempDir()
		out, stderr, code = runWith(t, objs, "wf", "artifacts", "wr", "build", "-o", dest, "-n", "default")
		if code != 0 {
			t.Fatalf("run gone %t, download: code %d\n%s%s", runGone, code, out, stderr)
		}
		got, err := os.ReadFile(filepath.Join(dest, "build", "bin", "app"))
		if err != nil || string(got) != "binary" {
			t.Errorf("run gone %t: downloaded app = %q, %v", runGone, got, err)
		}
	}
}

func TestLogsFromArchive(t *testing.T) {
	f := newStoreFixture(t)
	for attempt, text := range map[int32]string{1: "first try", 2: "second try"} {
		key, _ := runtimed.ArchiveKey(f.run, attempt)
		line, _ := json.Marshal(map[string]any{"line": text, "attempt": attempt, "run": string(f.run.UID)})
		if err := f.st.PutStream(context.Background(), key, bytes.NewReader(append(line, '\n'))); err != nil {
			t.Fatal(err)
		}
	}
	// An earlier Run of the same name: not this one's.
	other := f.run.DeepCopy()
	other.UID = "other-uid"
	key, _ := runtimed.ArchiveKey(other, 1)
	if err := f.st.PutStream(context.Background(), key, strings.NewReader(`{"line":"not mine"}`+"\n")); err != nil {
		t.Fatal(err)
	}
	out, stderr, code := runWith(t, f.objs, "logs", f.run.Name, "-n", "default")
	if code != 0 || out != "first try\nsecond try\n" {
		t.Fatalf("code %d, stdout %q, stderr %q", code, out, stderr)
	}
	if !strings.Contains(stderr, "(from the archive in ArtifactStore default/files)") {
		t.Errorf("stderr %q does not say where the log came from", stderr)
	}
}

func TestLogsWithoutArchiveSaysWhy(t *testing.T) {
	f := newStoreFixture(t)
	f.objs[1].(*krtv1.Runtime).Spec.ArtifactStore = ""
	_, stderr, code := runWith(t, f.objs, "logs", f.run.Name, "-n", "default")
	if code != 1 || !strings.Contains(stderr, "names no ArtifactStore") {
		t.Errorf("code %d, stderr %q", code, stderr)
	}
}

func TestStepRuntime(t *testing.T) {
	wr := &krtv1.WorkflowRun{Spec: krtv1.WorkflowRunSpec{Definition: krtv1.WorkflowSpec{Steps: []krtv1.Step{
		{Name: "plain", Runtime: "bash"}, {Name: "remote", Runtime: "prod-eu/bash"},
		{Name: "expr", Runtime: "${{ params.rt }}"}, {Name: "default"},
	}}}}
	for node, want := range map[string]string{"plain": "bash", "remote": "bash", "expr": "", "default": "", "missing": ""} {
		if got := stepRuntime(wr, node); got != want {
			t.Errorf("stepRuntime(%q) = %q, want %q", node, got, want)
		}
	}
	// What the engine recorded wins; the definition serves older runs.
	if got := nodeRuntime(wr, krtv1.NodeStatus{Name: "expr", Runtime: "python"}); got != "python" {
		t.Errorf("nodeRuntime of a recorded runtime = %q, want python", got)
	}
	if got := nodeRuntime(wr, krtv1.NodeStatus{Name: "plain"}); got != "bash" {
		t.Errorf("nodeRuntime of an older run's node = %q, want bash", got)
	}
}
