package folder

import (
	"reflect"
	"sort"
	"strings"
	"testing"

	krtv1 "krt.dev/krt/api/v1alpha1"
	"krt.dev/krt/workflows/parse"
)

func keys(m map[string][]byte) []string {
	out := []string{}
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func TestPlainFolder(t *testing.T) {
	files := map[string][]byte{
		"workflows/a.yaml":             []byte("a"),
		"workflows/b.yml":              []byte("b"),
		"workflows/notes.txt":          []byte("n"),
		"workflows/README.md":          []byte("r"),
		"workflows/.hidden.yaml":       []byte("h"),
		"workflows/.github/ci.yaml":    []byte("g"),
		"workflows/sub/c.yaml":         []byte("c"),
		"workflows/sub/deeper/d.YAML":  []byte("d"),
		"workflows/sub/.cache/e.yaml":  []byte("e"),
		"workflows-old/f.yaml":         []byte("f"),
		"other/g.yaml":                 []byte("g"),
		".github/workflows/ci.yaml":    []byte("x"),
		"deploy/wf/kustomize/base.yml": []byte("k"),
		"top.yaml":                     []byte("t"),
	}
	tests := []struct {
		dir  string
		want []string
	}{
		{"workflows/", []string{"workflows/a.yaml", "workflows/b.yml", "workflows/sub/c.yaml", "workflows/sub/deeper/d.YAML"}},
		{"workflows", []string{"workflows/a.yaml", "workflows/b.yml", "workflows/sub/c.yaml", "workflows/sub/deeper/d.YAML"}},
		{"workflows/sub", []string{"workflows/sub/c.yaml", "workflows/sub/deeper/d.YAML"}},
		{"deploy/wf", []string{"deploy/wf/kustomize/base.yml"}},
		{"", []string{"deploy/wf/kustomize/base.yml", "other/g.yaml", "top.yaml", "workflows-old/f.yaml",
			"workflows/a.yaml", "workflows/b.yml", "workflows/sub/c.yaml", "workflows/sub/deeper/d.YAML"}},
		{"missing/", []string{}},
	}
	for _, tc := range tests {
		got, err := Build(files, tc.dir)
		if err != nil {
			t.Fatalf("%q: %v", tc.dir, err)
		}
		if !reflect.DeepEqual(keys(got), tc.want) {
			t.Errorf("%q:\n got %v\nwant %v", tc.dir, keys(got), tc.want)
		}
	}
}

const baseWorkflow = `apiVersion: krt.dev/v1alpha1
kind: Workflow
metadata:
  name: x
spec:
  on:
    manual: {}
  steps:
    - name: build
      runtime: bash
      run: make
    - name: deploy
      needs: [build]
      runtime: bash
      run: echo deploy to staging
`

// built runs Build, expects one built file and parses it.
func built(t *testing.T, files map[string][]byte, dir, wantName string) *krtv1.Workflow {
	t.Helper()
	out, err := Build(files, dir)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(keys(out), []string{wantName}) {
		t.Fatalf("got files %v, want [%s]", keys(out), wantName)
	}
	docs, errs := parse.File(wantName, out[wantName])
	if len(errs) != 0 || len(docs) != 1 {
		t.Fatalf("parse: docs=%d errs=%v\n%s", len(docs), errs, out[wantName])
	}
	return docs[0].Object.(*krtv1.Workflow)
}

func TestKustomizeJSON6902Patch(t *testing.T) {
	files := map[string][]byte{
		"workflows/workflow.yaml": []byte(baseWorkflow),
		"workflows/kustomization.yaml": []byte(`resources: [workflow.yaml]
patches:
  - target: {kind: Workflow, name: x}
    patch: |-
      - op: replace
        path: /spec/steps/1/run
        value: echo deploy to production
`),
	}
	wf := built(t, files, "workflows/", "workflows/kustomization.yaml (built)")
	if got := wf.Spec.Steps[1].Run; got != "echo deploy to production" {
		t.Errorf("step run = %q", got)
	}
	if got := wf.Spec.Steps[0].Run; got != "make" {
		t.Errorf("other step changed: %q", got)
	}
}

func TestKustomizeOverlayStrategicMerge(t *testing.T) {
	files := map[string][]byte{
		"base/workflow.yaml":      []byte(baseWorkflow),
		"base/kustomization.yaml": []byte("resources: [workflow.yaml]\n"),
		"deploy/wf/Kustomization": []byte(`resources: [../../base]
namespace: team-a
patches:
  - patch: |-
      apiVersion: krt.dev/v1alpha1
      kind: Workflow
      metadata:
        name: x
      spec:
        on:
          when: event.revision != ""
`),
		// An unrelated kustomization with a remote base is not built.
		"apps/kustomization.yaml": []byte("resources: [github.com/org/repo//apps?ref=v1]\n"),
	}
	wf := built(t, files, "deploy/wf", "deploy/wf/Kustomization (built)")
	if wf.Namespace != "team-a" || wf.Spec.On.When != `event.revision != ""` || wf.Spec.On.Manual == nil {
		t.Errorf("got namespace %q, on %+v", wf.Namespace, wf.Spec.On)
	}
	if len(wf.Spec.Steps) != 2 {
		t.Errorf("steps %+v", wf.Spec.Steps)
	}
}

func TestKustomizeErrors(t *testing.T) {
	tests := []struct {
		name  string
		files map[string][]byte
		want  string
	}{
		{"broken yaml", map[string][]byte{"wf/kustomization.yaml": []byte("resources: [\n")}, "kustomize build"},
		{"missing resource", map[string][]byte{"wf/kustomization.yaml": []byte("resources: [nope.yaml]\n")}, "nope.yaml"},
		{"unknown field", map[string][]byte{"wf/kustomization.yaml": []byte("resourcez: [a.yaml]\n")}, "resourcez"},
		{"helm is off", map[string][]byte{"wf/kustomization.yaml": []byte("helmCharts: [{name: c}]\n")}, "enable-helm"},
		{"bad path", map[string][]byte{"wf/kustomization.yaml": []byte("resources: []\n"), "../x.yaml": nil}, "invalid file path"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out, err := Build(tc.files, "wf")
			if err == nil {
				t.Fatalf("no error; built %v", keys(out))
			}
			if !strings.Contains(err.Error(), "kustomize") || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q does not mention kustomize and %q", err, tc.want)
			}
		})
	}
}
