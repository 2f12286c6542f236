package workflow

import (
	"context"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	krtv1 "krt.dev/krt/api/v1alpha1"
	"krt.dev/krt/workflows/expr"
)

const digestA = "sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"

func TestArtifactInputs(t *testing.T) {
	vars := expr.Vars{Steps: map[string]expr.StepVars{
		"build": {Phase: "Succeeded", Artifacts: map[string]string{"dist": digestA}},
	}}
	b := runBuilder{env: testEnv(t), vars: vars}
	tests := []struct {
		name    string
		in      krtv1.StepArtifactInput
		want    krtv1.ArtifactInput
		wantErr string
	}{
		{"bare", krtv1.StepArtifactInput{From: "steps.build.artifacts.dist"},
			krtv1.ArtifactInput{Name: "dist", Path: ".", Digest: digestA, From: "steps.build.artifacts.dist"}, ""},
		{"template, renamed, at a path", krtv1.StepArtifactInput{Name: "site", From: "${{ steps.build.artifacts.dist }}", Path: "in"},
			krtv1.ArtifactInput{Name: "site", Path: "in", Digest: digestA, From: "${{ steps.build.artifacts.dist }}"}, ""},
		{"missing artifact", krtv1.StepArtifactInput{From: "steps.build.artifacts.bin"}, krtv1.ArtifactInput{},
			`step build has no artifact "bin" (it has [dist])`},
		{"not an artifact", krtv1.StepArtifactInput{Name: "x", From: "${{ 'hello' }}"}, krtv1.ArtifactInput{},
			"is not an artifact"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := b.artifactInput(context.Background(), tc.in)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if d := cmp.Diff(tc.want, got); d != "" {
				t.Errorf("input (-want +got):\n%s", d)
			}
		})
	}
}

// A pull request writes its own scope and reads its base branch's after
// it; a push writes only its branch's.
func TestDataScope(t *testing.T) {
	wr := func(ev krtv1.WorkflowEvent) *krtv1.WorkflowRun {
		r := &krtv1.WorkflowRun{Spec: krtv1.WorkflowRunSpec{Workflow: "ci", Event: ev}}
		r.Namespace, r.Labels = "team", map[string]string{krtv1.LabelRepository: "app"}
		return r
	}
	tests := []struct {
		name string
		ev   krtv1.WorkflowEvent
		want krtv1.RunScope
	}{
		{"push", krtv1.WorkflowEvent{Type: "push", Push: &krtv1.PushEvent{Branch: "main"}},
			krtv1.RunScope{Write: "team/app/ci/branch/main"}},
		{"pull request", krtv1.WorkflowEvent{Type: krtv1.EventPullRequest, PullRequest: &krtv1.PullRequest{Number: 7, Base: "main"}},
			krtv1.RunScope{Write: "team/app/ci/pr/7", Read: []string{"team/app/ci/pr/7", "team/app/ci/branch/main"}}},
		{"manual", krtv1.WorkflowEvent{Type: "manual"}, krtv1.RunScope{Write: "team/app/ci/event/manual"}},
		// A manual run that carries a push's payload writes no branch's
		// scope: the type decides, not which payload is there.
		{"manual with a push's payload", krtv1.WorkflowEvent{Type: "manual", Push: &krtv1.PushEvent{Branch: "main"}},
			krtv1.RunScope{Write: "team/app/ci/event/manual"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if d := cmp.Diff(&tc.want, dataScope(wr(tc.ev))); d != "" {
				t.Errorf("scope (-want +got):\n%s", d)
			}
		})
	}
}
