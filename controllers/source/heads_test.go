package source

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"

	"krt.dev/krt/api/scheme"
	krtv1 "krt.dev/krt/api/v1alpha1"
	"krt.dev/krt/sources/git"
	"krt.dev/krt/sources/gitserver"
	"krt.dev/krt/sources/gitserver/gittest"
	"krt.dev/krt/workflows/expr"
)

const headWorkflow = `apiVersion: krt.dev/v1alpha1
kind: Workflow
metadata:
  name: checks
spec:
  on:
    pullRequest: {}
  steps:
    - name: a
      uses: greet
      with: {who: pr}
`

const headTool = `apiVersion: krt.dev/v1alpha1
kind: Tool
metadata:
  name: greet
spec:
  runtime: bash
  inputs: [{name: who}]
  script: echo hello $WHO
`

// headFixture serves a repository and reads its heads as repo "web" of
// namespace "team", with a Tool "shared" in the namespace.
func headFixture(t *testing.T) (*gittest.Served, *gittest.Clone, *Heads) {
	t.Helper()
	s := gittest.Serve(t, gitserver.Options{}, "web")
	work := gittest.NewClone(t, s.URL)
	work.Write(map[string]string{"README.md": "base\n"})
	work.Commit("base")
	work.Push("main")
	cache, err := git.NewCache(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	env, err := expr.NewEnv()
	if err != nil {
		t.Fatal(err)
	}
	shared := &krtv1.Tool{ObjectMeta: metav1.ObjectMeta{Namespace: "team", Name: "shared"}, Spec: krtv1.ToolSpec{Script: "true"}}
	c := fake.NewClientBuilder().WithScheme(scheme.New()).WithObjects(shared).Build()
	repo := &krtv1.WorkflowRepository{ObjectMeta: metav1.ObjectMeta{Namespace: "team", Name: "web"},
		Spec: krtv1.WorkflowRepositorySpec{URL: s.URL, Path: "workflows/"}}
	hs, err := NewHeadReader(c, c, cache, env).Open(testContext(t), repo)
	if err != nil {
		t.Fatal(err)
	}
	return s, work, hs
}

func testContext(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// pushHead commits files as PR n's head and lists the refs again.
func pushHead(t *testing.T, work *gittest.Clone, hs *Heads, n int, files map[string]string) *krtv1.PullRequest {
	t.Helper()
	work.Write(files)
	sha := work.Commit("head")
	work.Push(fmt.Sprintf("HEAD:refs/pull/%d/head", n))
	refs, err := hs.h.git.ListRefs(testContext(t), hs.repo.Spec.URL, nil)
	if err != nil {
		t.Fatal(err)
	}
	hs.refs = refs
	return &krtv1.PullRequest{Number: int64(n), HeadSHA: sha, Base: "main"}
}

func TestReadHeadWithItsTools(t *testing.T) {
	_, work, hs := headFixture(t)
	pr := pushHead(t, work, hs, 1, map[string]string{"workflows/checks.yaml": headWorkflow, "workflows/tools.yaml": headTool})
	head, err := hs.Read(testContext(t), pr)
	if err != nil {
		t.Fatal(err)
	}
	if len(head.Errors) != 0 || len(head.Docs) != 2 {
		t.Fatalf("errors %v, %d docs", head.Errors, len(head.Docs))
	}
	if head.Revision != "refs/pull/1/head@sha1:"+pr.HeadSHA {
		t.Errorf("revision = %q", head.Revision)
	}
	var names []string
	for _, tool := range head.Tools {
		names = append(names, tool.Name)
	}
	if strings.Join(names, ",") != "greet,shared" {
		t.Errorf("tools = %v, want the head's and the namespace's", names)
	}
}

func TestReadHeadKustomization(t *testing.T) {
	_, work, hs := headFixture(t)
	pr := pushHead(t, work, hs, 2, map[string]string{
		"base/checks.yaml":        headWorkflow,
		"base/tools.yaml":         headTool,
		"base/kustomization.yaml": "resources: [checks.yaml, tools.yaml]\n",
		"workflows/kustomization.yaml": `resources: [../base]
patches:
  - target: {kind: Workflow, name: checks}
    patch: |-
      - op: replace
        path: /spec/steps/0/with/who
        value: kustomized
`,
	})
	head, err := hs.Read(testContext(t), pr)
	if err != nil {
		t.Fatal(err)
	}
	if len(head.Errors) != 0 {
		t.Fatalf("errors %v", head.Errors)
	}
	for _, d := range head.Docs {
		if wf, ok := d.Object.(*krtv1.Workflow); ok && wf.Spec.Steps[0].With["who"] != "kustomized" {
			t.Errorf("the head's kustomization was not built: %+v", wf.Spec.Steps[0])
		}
	}
}

func TestReadHeadErrorsAreLocated(t *testing.T) {
	_, work, hs := headFixture(t)
	bad := strings.Replace(headWorkflow, "uses: greet", "uses: nope", 1)
	pr := pushHead(t, work, hs, 3, map[string]string{"workflows/checks.yaml": bad})
	head, err := hs.Read(testContext(t), pr)
	if err != nil {
		t.Fatal(err)
	}
	errs := head.ErrorsOf("workflows/checks.yaml")
	if len(errs) != 1 || !strings.HasPrefix(errs[0].Error(), "workflows/checks.yaml:10: spec.steps[0].uses:") {
		t.Errorf("errors = %v", errs)
	}

	// A head without the folder is an error on the folder, not a retry.
	work.Remove("workflows/checks.yaml")
	pr = pushHead(t, work, hs, 4, nil)
	if head, err = hs.Read(testContext(t), pr); err != nil {
		t.Fatal(err)
	}
	if errs := head.ErrorsOf("workflows/any.yaml"); len(errs) != 1 || !strings.Contains(errs[0].Message, "path not found") {
		t.Errorf("errors = %v", head.Errors)
	}
}
