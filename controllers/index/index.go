// Package index registers the Run cache indexes that the scheduler and the
// reaper share, so both read "the Runs holding a slot on this pod" the same
// way.
package index

import (
	"context"

	"sigs.k8s.io/controller-runtime/pkg/client"

	krtv1 "krt.dev/krt/api/v1alpha1"
)

const (
	// ActivePod maps a Run that holds a slot (Scheduled or Running) to the
	// name of its pod.
	ActivePod = "krt.run.activePod"
	// ActiveRuntime maps a Run that holds a slot to its Runtime's name, so
	// that a whole pool's slots are one lookup (see controllers/pool).
	ActiveRuntime = "krt.run.activeRuntime"
	// PendingRuntime maps a Pending Run to its Runtime's name.
	PendingRuntime = "krt.run.pendingRuntime"
)

// Register adds the indexes to a manager's cache. Call it once per manager,
// before the controllers that use them start.
func Register(ctx context.Context, idx client.FieldIndexer) error {
	if err := idx.IndexField(ctx, &krtv1.Run{}, ActivePod, func(o client.Object) []string {
		r := o.(*krtv1.Run)
		if r.Status.Phase.HoldsCapacity() && r.Status.AssignedPod != "" {
			return []string{r.Status.AssignedPod}
		}
		return nil
	}); err != nil {
		return err
	}
	if err := idx.IndexField(ctx, &krtv1.Run{}, ActiveRuntime, func(o client.Object) []string {
		if r := o.(*krtv1.Run); r.Status.Phase.HoldsCapacity() && r.Status.AssignedPod != "" {
			return []string{r.Spec.Runtime}
		}
		return nil
	}); err != nil {
		return err
	}
	return idx.IndexField(ctx, &krtv1.Run{}, PendingRuntime, func(o client.Object) []string {
		if r := o.(*krtv1.Run); r.Pending() {
			return []string{r.Spec.Runtime}
		}
		return nil
	})
}
