package gitops

import (
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	krtv1 "krt.dev/krt/api/v1alpha1"
	"krt.dev/krt/sources/gitserver"
)

// Each bad file is one case: its error names file, line and field, and
// only that file is held back.
var badFiles = []struct {
	file, content string
	line          int32
	field, msg    string
}{
	{
		file: "workflows/broken.yaml", line: 6, msg: "invalid YAML: found character that cannot start any token",
		content: "apiVersion: krt.dev/v1alpha1\nkind: Workflow\nmetadata:\n  name: broken\nspec:\n\tsteps: []\n",
	},
	{
		file: "workflows/cycle.yaml", line: 7, field: "spec.steps[0].needs", msg: "cycle: a -> b -> a",
		content: `apiVersion: krt.dev/v1alpha1
kind: Workflow
metadata: {name: cycle}
spec:
  steps:
    - name: a
      needs: [b]
      runtime: bash
      run: echo a
    - name: b
      needs: [a]
      runtime: bash
      run: echo b
`,
	},
	{
		file: "workflows/cel.yaml", line: 8, field: "spec.steps[0].if", msg: "no matching overload",
		content: `apiVersion: krt.dev/v1alpha1
kind: Workflow
metadata: {name: cel}
spec:
  steps:
    - name: a
      runtime: bash
      if: "1 + 'a' == 2"
      run: echo a
`,
	},
	{
		file: "workflows/unknown.yaml", line: 8, field: "spec.steps[0].runn", msg: `unknown field "runn"`,
		content: `apiVersion: krt.dev/v1alpha1
kind: Workflow
metadata: {name: unknown}
spec:
  steps:
    - name: a
      runtime: bash
      runn: echo a
`,
	},
}

func TestBadFilesAreReportedAndGoodOnesApplied(t *testing.T) {
	ns := env.Namespace(t)
	files := map[string]string{
		"workflows/good.yaml":  workflowYAML("good", "v1"),
		"workflows/stale.yaml": workflowYAML("stale", "last good"),
	}
	g := serveRepo(t, gitserver.Options{}, files)
	repo := repository(t, ns, g.URL, nil)
	waitRevision(t, repo, strings.TrimSpace(g.clone.Run("rev-parse", "HEAD")))

	// One push breaks some files and changes or adds good ones.
	push := map[string]string{
		"workflows/stale.yaml": "kind: Workflow\napiVersion: krt.dev/v1alpha1\nmetadata: {name: stale}\nspec: {steps: [{name: x}]}\n",
		"workflows/good.yaml":  workflowYAML("good", "v2"),
		"workflows/added.yaml": workflowYAML("added", "new"),
	}
	for _, c := range badFiles {
		push[c.file] = c.content
	}
	cur := waitRevision(t, repo, g.push(push, "break things, fix others"))

	byFile := map[string][]krtv1.ParseError{}
	for _, e := range cur.Status.ParseErrors {
		byFile[e.File] = append(byFile[e.File], e)
	}
	for _, c := range badFiles {
		t.Run(c.file, func(t *testing.T) {
			errs := byFile[c.file]
			if len(errs) != 1 {
				t.Fatalf("errors for %s: %+v, want exactly one", c.file, errs)
			}
			e := errs[0]
			if e.Line != c.line || e.Field != c.field || !strings.Contains(e.Message, c.msg) {
				t.Errorf("got %s:%d %s: %s\nwant %s:%d %s: ...%s...", e.File, e.Line, e.Field, e.Message, c.file, c.line, c.field, c.msg)
			}
			eventually(t, 10*time.Second, "a Warning event naming "+c.file, func() (bool, string) {
				return hasEvent(t, ns, c.file), "none yet"
			})
		})
	}
	if n := len(cur.Status.ParseErrors); n != len(badFiles)+1 {
		t.Errorf("%d parse errors, want %d: %+v", n, len(badFiles)+1, cur.Status.ParseErrors)
	}
	// The good files of the same push reached the cluster, at its revision.
	for name, msg := range map[string]string{"good": "v2", "added": "new"} {
		wf := mustWorkflow(t, ns, name)
		if run := wf.Spec.Steps[0].Run; !strings.Contains(run, msg) {
			t.Errorf("workflow %s runs %q, want the pushed %q", name, run, msg)
		}
		if rev := wf.Annotations[krtv1.AnnotationRevision]; rev != cur.Status.Artifact.Revision {
			t.Errorf("workflow %s is at revision %q, want the push's %q", name, rev, cur.Status.Artifact.Revision)
		}
		if !listedApplied(cur.Status.Applied, name) {
			t.Errorf("status.applied does not list %s as applied: %+v", name, cur.Status.Applied)
		}
	}
	for _, name := range []string{"cycle", "cel", "unknown"} {
		if _, err := getWorkflow(t, ns, name); err == nil {
			t.Errorf("workflow %s from a bad file was applied", name)
		}
	}
	// The broken file's workflow keeps its last good version, marked stale.
	if run := mustWorkflow(t, ns, "stale").Spec.Steps[0].Run; !strings.Contains(run, "last good") {
		t.Errorf("stale workflow lost its last good version: %q", run)
	}
	if !listedStale(cur.Status.Applied, "stale") {
		t.Errorf("status.applied does not mark stale as stale: %+v", cur.Status.Applied)
	}
	waitCondition(t, repo, krtv1.ConditionReady, metav1.ConditionFalse, "files have errors")
}

// listedApplied reports whether status.applied lists name as current.
func listedApplied(applied []krtv1.AppliedObject, name string) bool {
	for _, a := range applied {
		if a.Name == name {
			return !a.Stale
		}
	}
	return false
}

func listedStale(applied []krtv1.AppliedObject, name string) bool {
	for _, a := range applied {
		if a.Name == name {
			return a.Stale
		}
	}
	return false
}

func hasEvent(t *testing.T, ns, file string) bool {
	t.Helper()
	events := &corev1.EventList{}
	if err := env.Client.List(t.Context(), events, client.InNamespace(ns)); err != nil {
		t.Fatal(err)
	}
	for _, e := range events.Items {
		if e.Type == corev1.EventTypeWarning && strings.Contains(e.Message, file) {
			return true
		}
	}
	return false
}
