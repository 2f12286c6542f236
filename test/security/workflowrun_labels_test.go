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
// admission, and so is moving or removing the krt.dev/queued-at
// annotation; her own label and annotation, which mean nothing to krt,
// are not.
func TestWorkflowRunLabelsAreFrozen(t *testing.T) {
	ctx := context.Background()
	ns := env.Namespace(t)
	wr := &krtv1.WorkflowRun{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "pr-run", Labels: map[string]string{
			krtv1.LabelRepository: "guarded", runs.LabelConcurrencyGroup: "pr-7"},
			Annotations: map[string]string{krtv1.AnnotationQueuedAt: "2026-12-07T10:00:00.5Z"}},
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
	// Within a second of creation, the older run of a group is cancelled
	// by the newer: an older run that claims to be newer survives.
	const queued = "the krt.dev/queued-at annotation of a WorkflowRun orders the runs"
	for _, tc := range []struct{ name, patch, want string }{
		{"moved to a repository with no approvers", `{"metadata":{"labels":{"krt.dev/repository":"lax"}}}`, frozen},
		{"repository label removed", `{"metadata":{"labels":{"krt.dev/repository":null}}}`, frozen},
		{"moved into a deploy's concurrency group", `{"metadata":{"labels":{"krt.dev/concurrency-group":"prod"}}}`, frozen},
		{"an event label added", `{"metadata":{"labels":{"krt.dev/event":"push"}}}`, frozen},
		{"queued later, to outlive a newer run", `{"metadata":{"annotations":{"krt.dev/queued-at":"2026-12-07T10:00:00.9Z"}}}`, queued},
		{"queued-at removed", `{"metadata":{"annotations":{"krt.dev/queued-at":null}}}`, queued},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := oscar.Patch(ctx, wr.DeepCopy(), client.RawPatch(types.MergePatchType, []byte(tc.patch)))
			if !apierrors.IsForbidden(err) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("patch %s: %v; want it refused with %q", tc.patch, err, tc.want)
			}
		})
	}
	cur := &krtv1.WorkflowRun{}
	if err := env.Client.Get(ctx, client.ObjectKeyFromObject(wr), cur); err != nil {
		t.Fatal(err)
	}
	if cur.Labels[krtv1.LabelRepository] != "guarded" || cur.Labels[runs.LabelConcurrencyGroup] != "pr-7" ||
		cur.Annotations[krtv1.AnnotationQueuedAt] != "2026-12-07T10:00:00.5Z" {
		t.Fatalf("the run's labels or queued-at changed: %v, %v", cur.Labels, cur.Annotations)
	}
	own := `{"metadata":{"labels":{"team":"payments"},"annotations":{"team":"payments"}}}`
	if err := oscar.Patch(ctx, cur, client.RawPatch(types.MergePatchType, []byte(own))); err != nil {
		t.Errorf("a label of her own: %v", err)
	}
}
