package runops

import (
	"context"
	"fmt"
	"strings"

	"sigs.k8s.io/controller-runtime/pkg/client"

	krtv1 "krt.dev/krt/api/v1alpha1"
)

// Cancel asks a workflow run to stop, in me's name, and says what it did.
// A run that has ended, or whose cancel was already asked for, is left
// alone: the first cancel's author stays on record.
func Cancel(ctx context.Context, c client.Client, wr *krtv1.WorkflowRun, me string) (string, error) {
	if wr.Status.Phase.Terminal() {
		return fmt.Sprintf("workflowrun.krt.dev/%s already %s", wr.Name, strings.ToLower(string(wr.Status.Phase))), nil
	}
	if wr.Spec.CancelRequested {
		by := wr.Spec.CancelledBy
		if by == "" {
			by = "-"
		}
		return fmt.Sprintf("workflowrun.krt.dev/%s cancel already requested by %s", wr.Name, by), nil
	}
	base := wr.DeepCopy()
	wr.Spec.CancelRequested, wr.Spec.CancelledBy = true, me
	if err := c.Patch(ctx, wr, client.MergeFrom(base)); err != nil {
		return "", err
	}
	return fmt.Sprintf("workflowrun.krt.dev/%s cancel requested", wr.Name), nil
}
