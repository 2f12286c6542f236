package security

import (
	"context"
	"strings"
	"testing"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	krtv1 "krt.dev/krt/api/v1alpha1"
	"krt.dev/krt/test/kubetest"
	"krt.dev/krt/workflows/runs"
)

// TestWorkflowRunLabelsAreFrozen plays the same operator, who may patch
// WorkflowRuns to cancel them, going after what the immutable spec
// cannot cover: the labels. The engine takes krt.dev/repository to decide
// whose pull-request approvers count, and the trigger cancels by the
// concurrency-group label. Each change to a krt.dev/ label is refused by
// admission; her own label, which means nothing to krt, is not.
func TestWorkflowRunLabelsAreFrozen(t *testing.T) {
	ctx := context.Background()
	ns := env.Namespace(t)
	wr := &krtv1.WorkflowRun{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "pr-run", Labels: map[string]string{
			krtv1.LabelRepository: "guarded", runs.LabelConcurrencyGroup: "pr-7"}},
		Spec: krtv1.WorkflowRunSpec{
			Workflow: "checks", Event: krtv1.WorkflowEvent{Type: krtv1.EventManual, Manual: &krtv1.ManualEvent{User: kubetest.AdminUser}},
			Definition: krtv1.WorkflowSpec{Steps: []krtv1.Step{
				{Name: "gate", Approval: &krtv1.ApprovalGate{Approvers: []string{"alice"}}},
			}},
		},
	}
	if err := env.Client.Create(ctx, wr); err != nil {
		t.Fatal(err)
	}
	oscar, _ := runPatcher(t, ns, "oscar")

	const frozen = "the krt.dev/ labels of a WorkflowRun say how it was made"
	for _, tc := range []struct{ name, patch string }{
		{"moved to a repository with no approvers", `{"metadata":{"labels":{"krt.dev/repository":"lax"}}}`},
		{"repository label removed", `{"metadata":{"labels":{"krt.dev/repository":null}}}`},
		{"moved into a deploy's concurrency group", `{"metadata":{"labels":{"krt.dev/concurrency-group":"prod"}}}`},
		{"an event label added", `{"metadata":{"labels":{"krt.dev/event":"push"}}}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := oscar.Patch(ctx, wr.DeepCopy(), client.RawPatch(types.MergePatchType, []byte(tc.patch)))
			if !apierrors.IsForbidden(err) || !strings.Contains(err.Error(), frozen) {
				t.Fatalf("patch %s: %v; want it refused with %q", tc.patch, err, frozen)
			}
		})
	}
	cur := &krtv1.WorkflowRun{}
	if err := env.Client.Get(ctx, client.ObjectKeyFromObject(wr), cur); err != nil {
		t.Fatal(err)
	}
	if cur.Labels[krtv1.LabelRepository] != "guarded" || cur.Labels[runs.LabelConcurrencyGroup] != "pr-7" {
		t.Fatalf("the run's labels changed: %v", cur.Labels)
	}
	own := `{"metadata":{"labels":{"team":"payments"}}}`
	if err := oscar.Patch(ctx, cur, client.RawPatch(types.MergePatchType, []byte(own))); err != nil {
		t.Errorf("a label of her own: %v", err)
	}
}
