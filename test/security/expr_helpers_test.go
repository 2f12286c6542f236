package security

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	krtv1 "krt.dev/krt/api/v1alpha1"
	"krt.dev/krt/sources/gitserver"
	"krt.dev/krt/sources/gitserver/gittest"
)

// exprRepo serves a git repository whose main holds files, and creates a
// WorkflowRepository named flows for it in ns; edit changes the repository
// before it is created. More refs can be pushed from the returned clone
// before that, by a test that wants them seen on the first fetch.
func exprRepo(t *testing.T, ns string, files map[string]string, edit func(*krtv1.WorkflowRepository), refs ...func(*gittest.Clone)) (*krtv1.WorkflowRepository, *gittest.Clone) {
	t.Helper()
	srv := gittest.Serve(t, gitserver.Options{}, "flows")
	clone := gittest.NewClone(t, srv.URL)
	clone.Write(files)
	clone.Commit("workflows")
	clone.Push("HEAD:refs/heads/main")
	for _, push := range refs {
		push(clone)
	}
	repo := &krtv1.WorkflowRepository{
		ObjectMeta: metav1.ObjectMeta{Name: "flows", Namespace: ns},
		Spec:       krtv1.WorkflowRepositorySpec{URL: srv.URL, Ref: &krtv1.GitRef{Branch: "main"}},
	}
	if edit != nil {
		edit(repo)
	}
	if err := env.Client.Create(context.Background(), repo); err != nil {
		t.Fatalf("creating repository: %v", err)
	}
	return repo, clone
}

// exprRefetch asks the source controller to read the repository now, as
// a webhook would.
func exprRefetch(t *testing.T, repo *krtv1.WorkflowRepository) {
	t.Helper()
	patch := client.RawPatch(types.MergePatchType,
		[]byte(`{"metadata":{"annotations":{"reconcile.fluxcd.io/requestedAt":"`+time.Now().Format(time.RFC3339Nano)+`"}}}`))
	if err := env.Client.Patch(context.Background(), repo, patch); err != nil {
		t.Fatal(err)
	}
}

// exprParseErrors waits until the repository has read a revision and
// reports its parse errors, as "file:line: field: message".
func exprParseErrors(t *testing.T, repo *krtv1.WorkflowRepository) []string {
	t.Helper()
	cur := &krtv1.WorkflowRepository{}
	eventually(t, time.Minute, "repository "+repo.Name+" to read its revision", func() bool {
		if env.Client.Get(context.Background(), client.ObjectKeyFromObject(repo), cur) != nil || cur.Status.Artifact == nil {
			return false
		}
		ready := apimeta.FindStatusCondition(cur.Status.Conditions, krtv1.ConditionReady)
		return len(cur.Status.ParseErrors) > 0 || (ready != nil && ready.Status == metav1.ConditionTrue)
	})
	var out []string
	for _, e := range cur.Status.ParseErrors {
		out = append(out, fmt.Sprintf("%s:%d: %s: %s", e.File, e.Line, e.Field, e.Message))
	}
	return out
}

// exprValidate runs the real `krt validate` on a folder holding files.
func exprValidate(t *testing.T, files map[string]string) (string, int) {
	t.Helper()
	dir := t.TempDir()
	for name, content := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return runKrtCLI(t, "validate", dir)
}

// exprWaitRun waits until a WorkflowRun has ended.
func exprWaitRun(t *testing.T, ns, name string, timeout time.Duration) *krtv1.WorkflowRun {
	t.Helper()
	wr := &krtv1.WorkflowRun{}
	eventually(t, timeout, "workflow run "+name+" to end", func() bool {
		return env.Client.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: name}, wr) == nil && wr.Status.Phase.Terminal()
	})
	return wr
}

// exprRuns lists the Runs of a namespace: steps that were started.
func exprRuns(t *testing.T, ns string) []krtv1.Run {
	t.Helper()
	list := &krtv1.RunList{}
	if err := env.Client.List(context.Background(), list, client.InNamespace(ns)); err != nil {
		t.Fatal(err)
	}
	return list.Items
}

// exprEvents lists the reasons and messages of the events about an object.
func exprEvents(t *testing.T, ns, name string) string {
	t.Helper()
	list := &corev1.EventList{}
	if err := env.Client.List(context.Background(), list, client.InNamespace(ns)); err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range list.Items {
		if e.InvolvedObject.Name == name {
			out = append(out, e.Reason+": "+e.Message)
		}
	}
	return strings.Join(out, "\n")
}

// exprNode is a run's node by name.
func exprNode(wr *krtv1.WorkflowRun, name string) krtv1.NodeStatus {
	for _, n := range wr.Status.Nodes {
		if n.Name == name {
			return n
		}
	}
	return krtv1.NodeStatus{}
}

// exprContains fails unless some line holds every part.
func exprContains(t *testing.T, lines []string, parts ...string) {
	t.Helper()
	for _, l := range lines {
		ok := true
		for _, p := range parts {
			ok = ok && strings.Contains(l, p)
		}
		if ok {
			return
		}
	}
	t.Errorf("no line holds all of %q; the lines:\n%s", parts, strings.Join(lines, "\n"))
}
