package runtime

import (
	"context"
	"fmt"
	"time"

	"github.com/fluxcd/pkg/runtime/conditions"
	"sigs.k8s.io/controller-runtime/pkg/client"

	krtv1 "krt.dev/krt/api/v1alpha1"
	"krt.dev/krt/controllers/index"
	"krt.dev/krt/controllers/pool"
	"krt.dev/krt/runtimed/heartbeat"
)

// summarize counts the pool from the cache: pods that are Ready and
// heartbeating, their slots, the Runs holding slots, the Runs waiting.
func (r *Reconciler) summarize(ctx context.Context, rt *krtv1.Runtime, plan *scalePlan) error {
	members, err := pool.Read(ctx, r.cache, rt.Namespace, rt.Name)
	if err != nil {
		return err
	}
	now := time.Now()
	var ready, inUse int32
	for _, m := range members {
		if m.Lease == nil || !heartbeat.PodReady(m.Pod) || !heartbeat.Fresh(m.Lease, m.Pod.UID, now) {
			continue
		}
		ready++
		inUse += int32(m.Runs)
	}
	pending := &krtv1.RunList{}
	if err := r.cache.List(ctx, pending, client.InNamespace(rt.Namespace), client.MatchingFields{index.PendingRuntime: rt.Name}, client.UnsafeDisableDeepCopy); err != nil {
		return err
	}
	rt.Status.ReadyPods, rt.Status.Capacity = ready, ready*rt.PodCapacity()
	rt.Status.InUse, rt.Status.Pending = inUse, int32(len(pending.Items))

	rt.Status.Replicas, rt.Status.DesiredReplicas, rt.Status.Draining = plan.current, plan.desired, plan.draining
	rt.Status.Selector = krtv1.LabelRuntime + "=" + rt.Name
	markScaling(rt, plan)
	want := plan.desired
	msg := fmt.Sprintf("%d of %d pods ready, %d of %d slots in use, %d Runs pending", ready, want, inUse, rt.Status.Capacity, rt.Status.Pending)
	if ready >= want {
		conditions.MarkTrue(rt, krtv1.ConditionReady, ReasonAvailable, "%s", msg)
		conditions.Delete(rt, krtv1.ConditionReconciling)
	} else {
		conditions.MarkFalse(rt, krtv1.ConditionReady, ReasonProgressing, "%s", msg)
		conditions.MarkReconciling(rt, ReasonProgressing, "%s", msg)
	}
	return nil
}

// Reasons on the Scaling condition.
const (
	ReasonScaledToDemand = "ScaledToDemand"
	ReasonDraining       = "Draining"
	ReasonAtMax          = "AtMaxReplicas"
)

// markScaling says why the pool has the size it has: on every Runtime
// with autoscaling, and on any while pods drain.
func markScaling(rt *krtv1.Runtime, plan *scalePlan) {
	if rt.Spec.Autoscaling == nil && plan.draining == 0 {
		conditions.Delete(rt, krtv1.ConditionScaling)
		return
	}
	reason := ReasonScaledToDemand
	switch {
	case plan.draining > 0:
		reason = ReasonDraining
	case rt.Spec.Autoscaling != nil && plan.desired >= rt.Spec.Autoscaling.MaxReplicas && rt.Status.Pending > 0:
		reason = ReasonAtMax
	}
	msg := fmt.Sprintf("%d pods wanted from %s; %d draining", plan.desired, plan.why, plan.draining)
	conditions.MarkTrue(rt, krtv1.ConditionScaling, reason, "%s", msg)
}
