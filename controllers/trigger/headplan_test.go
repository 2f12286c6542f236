package trigger

import (
	"slices"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	krtv1 "krt.dev/krt/api/v1alpha1"
	"krt.dev/krt/controllers/source"
	"krt.dev/krt/workflows/parse"
)

func prWorkflow(name, run string, on krtv1.Triggers) *krtv1.Workflow {
	wf := &krtv1.Workflow{Spec: krtv1.WorkflowSpec{On: on, Steps: []krtv1.Step{{Name: "a", Runtime: "bash", Run: run}}}}
	wf.Name = name
	return wf
}

// baseWorkflow is a Workflow object as the source controller applied it.
func baseWorkflow(name, repo, file string, created time.Time, on krtv1.Triggers) *krtv1.Workflow {
	wf := prWorkflow(name, "base", on)
	wf.Labels = map[string]string{krtv1.LabelRepository: repo}
	wf.Annotations = map[string]string{krtv1.AnnotationFile: file}
	wf.CreationTimestamp = metav1.NewTime(created)
	return wf
}

func runNames(p headPlan) (ok, failed []string) {
	for _, r := range p.runs {
		if len(r.errs) > 0 {
			failed = append(failed, r.c.name)
		} else {
			ok = append(ok, r.c.name)
		}
	}
	return ok, failed
}

func TestPlanHead(t *testing.T) {
	onPR := krtv1.Triggers{PullRequest: &krtv1.PullRequestTrigger{}}
	onPush := krtv1.Triggers{Push: &krtv1.PushTrigger{}}
	repo := &krtv1.WorkflowRepository{Spec: krtv1.WorkflowRepositorySpec{PullRequests: &krtv1.PullRequestPolicy{
		Enabled: true, DefinitionsFrom: "head", AllowedAuthors: []string{"alice"}}}}
	repo.Name, repo.Namespace = "web", "team"
	long := time.Now().Add(-time.Hour)
	pr := &krtv1.PullRequest{Number: 4, HeadSHA: strings.Repeat("ab", 20), Base: "main", Author: "alice", PushedBy: "alice",
		Action: "synchronize", UpdatedAt: metav1.Now()}
	head := &source.Head{
		Revision: "refs/pull/4/head@sha1:" + pr.HeadSHA, Dir: "workflows/",
		Docs: []parse.Document{
			{File: "workflows/checks.yaml", Object: prWorkflow("checks", "head", onPR)},
			{File: "workflows/lint.yaml", Object: prWorkflow("lint", "head", onPR)},       // only in the head
			{File: "workflows/deploy.yaml", Object: prWorkflow("deploy", "head", onPush)}, // no on.pullRequest
			{File: "workflows/taken.yaml", Object: prWorkflow("theirs", "head", onPR)},
			{File: "workflows/two.yaml", Object: prWorkflow("good-half", "head", onPR)},
		},
		Errors: []*parse.Error{
			{File: "workflows/broken.yaml", Line: 7, Field: "spec.steps[0]", Message: "unknown field \"runn\""},
			{File: "workflows/two.yaml", Line: 12, Field: "spec.steps[0].needs", Message: "no step \"x\""},
			{File: "workflows/new.yaml", Line: 1, Message: "invalid YAML: did not find expected key"},
		},
	}
	base := map[string]*krtv1.Workflow{
		"checks":  baseWorkflow("checks", "web", "workflows/checks.yaml", long, onPR),
		"broken":  baseWorkflow("broken", "web", "workflows/broken.yaml", long, onPR),
		"gone":    baseWorkflow("gone", "web", "workflows/gone.yaml", long, onPR), // deleted by the head
		"theirs":  baseWorkflow("theirs", "api", "workflows/theirs.yaml", long, onPR),
		"pushing": baseWorkflow("pushing", "web", "workflows/broken.yaml", long, onPush),
	}
	p := planHead(repo, head, base, pr)
	ok, failed := runNames(p)
	if want := []string{"checks-pr4-abababa", "lint-pr4-abababa"}; !slices.Equal(ok, want) {
		t.Errorf("runs %v, want %v", ok, want)
	}
	if want := []string{"good-half-pr4-abababa", "broken-pr4-abababa"}; !slices.Equal(failed, want) {
		t.Errorf("failed runs %v, want %v", failed, want)
	}
	for _, r := range p.runs {
		if r.wf.Name == "checks" && (r.wf.Spec.Steps[0].Run != "head" || r.wf.Annotations[krtv1.AnnotationRevision] != head.Revision ||
			r.wf.Namespace != "team" || r.wf.Labels[krtv1.LabelRepository] != "web" || r.c.requireApproval) {
			t.Errorf("checks' run: %+v %+v", r.wf, r.c)
		}
	}
	if len(p.unrun) != 2 || !strings.Contains(p.unrun[0], "name is taken by the Workflow of repository api") ||
		p.unrun[1] != "workflows/new.yaml:1: invalid YAML: did not find expected key" {
		t.Errorf("unrun = %q", p.unrun)
	}
}

func TestPlanHeadFolderError(t *testing.T) {
	repo := &krtv1.WorkflowRepository{Spec: krtv1.WorkflowRepositorySpec{PullRequests: &krtv1.PullRequestPolicy{
		Enabled: true, DefinitionsFrom: "head"}}}
	repo.Name = "web"
	pr := &krtv1.PullRequest{Number: 1, HeadSHA: strings.Repeat("cd", 20), Base: "main", Fork: true, UpdatedAt: metav1.Now()}
	head := &source.Head{Revision: "sha1:" + pr.HeadSHA, Dir: "workflows/",
		Errors: []*parse.Error{{File: "workflows/", Message: "building workflows/: kustomize build: boom"}}}
	base := map[string]*krtv1.Workflow{
		"a": baseWorkflow("a", "web", "workflows/kustomization.yaml (built)", time.Now().Add(-time.Hour),
			krtv1.Triggers{PullRequest: &krtv1.PullRequestTrigger{}}),
		// A PR event older than the workflow is not replayed, failed or not.
		"late": baseWorkflow("late", "web", "workflows/kustomization.yaml (built)", time.Now().Add(time.Hour),
			krtv1.Triggers{PullRequest: &krtv1.PullRequestTrigger{}}),
	}
	p := planHead(repo, head, base, pr)
	if len(p.runs) != 1 || p.runs[0].c.name != "a-pr1-cdcdcdc" || len(p.runs[0].errs) != 1 || !p.runs[0].c.requireApproval {
		t.Fatalf("runs = %+v", p.runs)
	}
	if len(p.unrun) != 0 {
		t.Errorf("unrun = %q: the folder's error is carried by a's run", p.unrun)
	}
	if got := invalidMessage(head.Revision, p.runs[0].errs); !strings.HasPrefix(got, "the definition at sha1:cdcd") ||
		!strings.HasSuffix(got, "is invalid: workflows/: building workflows/: kustomize build: boom") {
		t.Errorf("message = %q", got)
	}
	// With no workflow to carry it, the folder's error is an event.
	if p := planHead(repo, head, nil, pr); len(p.runs) != 0 || len(p.unrun) != 1 {
		t.Errorf("without base workflows: %+v", p)
	}
}
