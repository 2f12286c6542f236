package gitops

import (
	"strings"
	"testing"
	"time"

	krtv1 "krt.dev/krt/api/v1alpha1"

	"krt.dev/krt/sources/gitserver"
)

// A folder with a kustomization is built by kustomize, in memory, and the
// patched Workflow is what gets applied.
func TestKustomizationPatchesAStep(t *testing.T) {
	ns := env.Namespace(t)
	g := serveRepo(t, gitserver.Options{}, map[string]string{
		"deploy/base/release.yaml": `apiVersion: krt.dev/v1alpha1
kind: Workflow
metadata: {name: release}
spec:
  steps:
    - name: build
      runtime: bash
      run: echo build
    - name: ship
      needs: [build]
      runtime: bash
      run: echo ship to staging
`,
		"deploy/base/kustomization.yaml": "resources: [release.yaml]\n",
		"deploy/prod/kustomization.yaml": `resources: [../base]
patches:
  - target: {kind: Workflow, name: release}
    patch: |
      - op: replace
        path: /spec/steps/1/run
        value: echo ship to prod
`,
	})
	repo := repository(t, ns, g.URL, func(r *krtv1.WorkflowRepository) { r.Spec.Path = "deploy/prod" })
	waitRevision(t, repo, strings.TrimSpace(g.clone.Run("rev-parse", "HEAD")))
	eventually(t, 30*time.Second, "the patched workflow", func() (bool, string) {
		wf, err := getWorkflow(t, ns, "release")
		if err != nil {
			return false, err.Error() + "; " + describe(getRepo(t, repo))
		}
		return wf.Spec.Steps[1].Run == "echo ship to prod", "ship runs " + wf.Spec.Steps[1].Run
	})
}
