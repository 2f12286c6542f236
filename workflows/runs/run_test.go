package runs

import (
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation"

	krtv1 "krt.dev/krt/api/v1alpha1"
	"krt.dev/krt/workflows/expr"
)

func testWorkflow() *krtv1.Workflow {
	def := "${{ event.revision.substring(0, 7) }}"
	return &krtv1.Workflow{
		ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "pr-checks", UID: "u1",
			Labels:      map[string]string{krtv1.LabelRepository: "web", "app.kubernetes.io/instance": "argo"},
			Annotations: map[string]string{krtv1.AnnotationRevision: "main@sha1:1111111"}},
		Spec: krtv1.WorkflowSpec{
			Params:      []krtv1.Param{{Name: "version", Default: &def}, {Name: "env"}},
			Concurrency: &krtv1.Concurrency{Group: "pr-${{ event.pullRequest.number }}-${{ params.version }}", CancelInProgress: true},
			Steps:       []krtv1.Step{{Name: "lint", Uses: "golint"}, {Name: "unit", Runtime: "bash", Run: "true"}},
			Finally:     []krtv1.Step{{Name: "notify", Uses: "notify"}},
		},
	}
}

func TestNewRun(t *testing.T) {
	env, err := expr.NewEnv()
	if err != nil {
		t.Fatal(err)
	}
	wf := testWorkflow()
	tools := []krtv1.NamedTool{{Name: "notify"}, {Name: "golint"}, {Name: "unused"}}
	ev := krtv1.WorkflowEvent{Type: krtv1.EventPullRequest, PullRequest: &krtv1.PullRequest{Number: 42, HeadSHA: "abcdef0123", Base: "main"}}
	wr, err := NewRun(wf, tools, ev, "pr-checks-pr42-abcdef0", map[string]string{"env": "dev"}, env)
	if err != nil {
		t.Fatal(err)
	}
	if wr.Spec.ConcurrencyGroup != "pr-42-abcdef0" || !wr.Spec.CancelInProgress {
		t.Errorf("group = %q, cancel %v", wr.Spec.ConcurrencyGroup, wr.Spec.CancelInProgress)
	}
	if wr.Spec.Revision != "main@sha1:1111111" || wr.Spec.Workflow != "pr-checks" || wr.Spec.Params["env"] != "dev" {
		t.Errorf("spec = %+v", wr.Spec)
	}
	if len(wr.Spec.Tools) != 2 || wr.Spec.Tools[0].Name != "golint" || wr.Spec.Tools[1].Name != "notify" {
		t.Errorf("tools = %+v, want the two used", wr.Spec.Tools)
	}
	want := map[string]string{LabelWorkflow: "pr-checks", LabelEvent: "pullRequest",
		krtv1.LabelRepository: "web", LabelConcurrencyGroup: GroupHash("pr-42-abcdef0")}
	for k, v := range want {
		if wr.Labels[k] != v {
			t.Errorf("label %s = %q, want %q", k, wr.Labels[k], v)
		}
	}
	if _, foreign := wr.Labels["app.kubernetes.io/instance"]; foreign {
		t.Error("Argo CD's instance label was copied")
	}
	ref := wr.OwnerReferences
	if len(ref) != 1 || ref[0].Kind != "Workflow" || ref[0].UID != "u1" || *ref[0].BlockOwnerDeletion {
		t.Errorf("owners = %+v", ref)
	}
	wf.Spec.Steps[0].Name = "changed"
	if wr.Spec.Definition.Steps[0].Name != "lint" {
		t.Error("the definition shares memory with the workflow")
	}
}

func TestNewRunErrors(t *testing.T) {
	env, _ := expr.NewEnv()
	wf := testWorkflow()
	ev := krtv1.WorkflowEvent{Type: krtv1.EventManual}
	tools := []krtv1.NamedTool{{Name: "notify"}, {Name: "golint"}}
	if _, err := NewRun(wf, tools, ev, "x", map[string]string{"nope": "1"}, env); err == nil || !strings.Contains(err.Error(), `no param "nope"`) {
		t.Errorf("unknown param: %v", err)
	}
	if _, err := NewRun(wf, tools[:1], ev, "x", nil, env); err == nil || !strings.Contains(err.Error(), "tool golint") {
		t.Errorf("missing tool: %v", err)
	}
	// A manual event has no pull request to read the group from.
	if _, err := NewRun(wf, tools, ev, "x", nil, env); err == nil || !strings.Contains(err.Error(), "concurrency group") {
		t.Errorf("bad group: %v", err)
	}
	wf.Spec.Concurrency = &krtv1.Concurrency{Group: "deploy"}
	wr, err := NewRun(wf, tools, ev, "", nil, env)
	if err != nil {
		t.Fatal(err)
	}
	if wr.GenerateName != "pr-checks-" || wr.Spec.ConcurrencyGroup != "deploy" || wr.Spec.CancelInProgress {
		t.Errorf("generateName %q, group %q", wr.GenerateName, wr.Spec.ConcurrencyGroup)
	}
}

func TestName(t *testing.T) {
	if got := Name("wf", "push-abc1234"); got != "wf-push-abc1234" {
		t.Errorf("short name = %s", got)
	}
	long := strings.Repeat("a", 250)
	a, b := Name(long, "push-abc1234"), Name(long+"b", "push-abc1234")
	for _, n := range []string{a, b} {
		if len(n) > 253 || !strings.HasSuffix(n, "-push-abc1234") || len(validation.IsDNS1123Subdomain(n)) > 0 {
			t.Errorf("long name %q (%d) is not a valid name ending in its suffix", n, len(n))
		}
	}
	if a == b {
		t.Error("two long workflows share a run name")
	}
}
