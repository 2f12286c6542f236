package gitops

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	krtv1 "krt.dev/krt/api/v1alpha1"
	"krt.dev/krt/sources/gitserver"
)

const releaseYAML = `apiVersion: krt.dev/v1alpha1
kind: Workflow
metadata: {name: release}
spec:
  on: {manual: {}}
  steps:
    - name: ship
      runtime: bash
      run: echo ship
`

// A tenant's kustomization that names a URL, in any of the places
// kustomize would fetch it from, is refused at that entry, and the URL's
// server never hears from krt.
func TestAttackKustomizationCannotFetchURLs(t *testing.T) {
	var requests atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		requests.Add(1)
		_, _ = w.Write([]byte("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n"))
	}))
	t.Cleanup(srv.Close)
	cases := []struct {
		name, kustomization string
		line                int32
	}{
		{"generator file", "resources: [release.yaml]\nconfigMapGenerator:\n- name: env\n  files:\n  - URL/env\n", 5},
		{"patch path", "resources: [release.yaml]\npatches:\n- path: URL/patch.yaml\n", 3},
		{"inline generator configuration", "resources: [release.yaml]\ngenerators:\n- |\n  apiVersion: builtin\n  kind: ConfigMapGenerator\n  metadata: {name: g}\n  files: [URL/f]\n", 3},
		{"remote base", "resources:\n- release.yaml\n- URL/org/base.git//deploy?ref=main\n", 3},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ns := env.Namespace(t)
			g := serveRepo(t, gitserver.Options{}, map[string]string{
				"deploy/release.yaml":       releaseYAML,
				"deploy/kustomization.yaml": strings.ReplaceAll(tc.kustomization, "URL", srv.URL),
			})
			repo := repository(t, ns, g.URL, func(r *krtv1.WorkflowRepository) { r.Spec.Path = "deploy" })
			cond := waitCondition(t, repo, krtv1.ConditionReady, metav1.ConditionFalse, "deploy/kustomization.yaml:")
			if cond.Reason != "ValidationFailed" || !strings.Contains(cond.Message, "remote reference") {
				t.Errorf("Ready = %s: %s; want ValidationFailed naming the remote reference", cond.Reason, cond.Message)
			}
			// Flux's patcher writes the conditions before the rest of the
			// status, so the errors may land a moment after Ready.
			var errs []krtv1.ParseError
			eventually(t, 30*time.Second, "parseErrors to be written", func() (bool, string) {
				errs = getRepo(t, repo).Status.ParseErrors
				return len(errs) > 0, "none yet"
			})
			if len(errs) != 1 || errs[0].File != "deploy/kustomization.yaml" || errs[0].Line != tc.line || !strings.Contains(errs[0].Message, srv.URL) {
				t.Errorf("parseErrors = %+v, want deploy/kustomization.yaml:%d naming %s", errs, tc.line, srv.URL)
			}
			if _, err := getWorkflow(t, ns, "release"); !apierrors.IsNotFound(err) {
				t.Errorf("the workflow of a refused kustomization was applied: %v", err)
			}
			if n := requests.Load(); n != 0 {
				t.Fatalf("the URL's server got %d requests", n)
			}
		})
	}
}
