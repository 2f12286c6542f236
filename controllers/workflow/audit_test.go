package workflow

import (
	"context"
	"fmt"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	krtv1 "krt.dev/krt/api/v1alpha1"
	"krt.dev/krt/test/kubetest"
)

// A user who may create Approvals floods a run with them, to push who
// started and who stopped it out of its bounded history. The history
// keeps the trigger and the first decisions, counts the rest, and still
// takes the cancel.
func TestHistoryKeepsTheCancelPastAFloodOfDecisions(t *testing.T) {
	ctx := context.Background()
	ns := env.Namespace(t)
	wr := newRun(t, ns, "flooded", krtv1.WorkflowSpec{Steps: []krtv1.Step{
		{Name: "gate", Approval: &krtv1.ApprovalGate{Approvers: []string{"alice"}}},
	}}, nil)
	waitNode(t, wr, "gate", krtv1.NodeWaiting, "waiting for approval by alice")
	mallory := approver(t, "mallory")
	const flood = krtv1.MaxHistory + 6
	for i := range flood {
		a := &krtv1.Approval{ObjectMeta: metav1.ObjectMeta{Namespace: ns, GenerateName: "flood-"},
			Spec: krtv1.ApprovalSpec{WorkflowRun: wr.Name, WorkflowRunUID: wr.UID, Step: "gate", Decision: "reject",
				User: "mallory", Comment: fmt.Sprint(i)}}
		if err := mallory.Create(ctx, a); err != nil {
			t.Fatal(err)
		}
	}
	stored := krtv1.MaxHistory - 2
	eventually(t, "the decisions to fill the history", func() (bool, string) {
		err := env.Client.Get(ctx, client.ObjectKeyFromObject(wr), wr)
		return err == nil && len(wr.Status.History) == 1+stored && wr.Status.HistoryOmitted == int32(flood-stored),
			fmt.Sprintf("%d entries, %d omitted", len(wr.Status.History), wr.Status.HistoryOmitted)
	})
	patch := client.MergeFrom(wr.DeepCopy())
	wr.Spec.CancelRequested, wr.Spec.CancelledBy = true, kubetest.AdminUser
	if err := env.Client.Patch(ctx, wr, patch); err != nil {
		t.Fatal(err)
	}
	got := waitPhase(t, wr, krtv1.WorkflowCancelled)
	h := got.Status.History
	if len(h) != krtv1.MaxHistory || h[0].Action != krtv1.AuditTrigger || h[0].User != kubetest.AdminUser ||
		h[len(h)-1].Action != krtv1.AuditCancel || h[len(h)-1].User != kubetest.AdminUser {
		t.Errorf("history of %d entries, first %+v, last %+v; want %d from the trigger to the cancel, both by %s",
			len(h), h[0], h[len(h)-1], krtv1.MaxHistory, kubetest.AdminUser)
	}
}
