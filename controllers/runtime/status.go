package runtime

import (
	"context"
	"fmt"
	"time"

	"github.com/fluxcd/pkg/runtime/conditions"
	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	krtv1 "krt.dev/krt/api/v1alpha1"
	"krt.dev/krt/controllers/index"
	"krt.dev/krt/runtimed/heartbeat"
)

// summarize counts the pool from the cache: pods that are Ready and
// heartbeating, their slots, the Runs holding slots, the Runs waiting.
func (r *Reconciler) summarize(ctx context.Context, rt *krtv1.Runtime) error {
	pods := &corev1.PodList{}
	if err := r.cache.List(ctx, pods, client.InNamespace(rt.Namespace), client.MatchingLabels{krtv1.LabelRuntime: rt.Name}, client.UnsafeDisableDeepCopy); err != nil {
		return err
	}
	now := time.Now()
	var ready, inUse int32
	for i := range pods.Items {
		p := &pods.Items[i]
		lease := &coordinationv1.Lease{}
		if err := r.cache.Get(ctx, client.ObjectKeyFromObject(p), lease); err != nil || !heartbeat.PodReady(p) || !heartbeat.Fresh(lease, p.UID, now) {
			continue
		}
		ready++
		runs := &krtv1.RunList{}
		if err := r.cache.List(ctx, runs, client.InNamespace(rt.Namespace), client.MatchingFields{index.ActivePod: p.Name}, client.UnsafeDisableDeepCopy); err != nil {
			return err
		}
		inUse += int32(len(runs.Items))
	}
	pending := &krtv1.RunList{}
	if err := r.cache.List(ctx, pending, client.InNamespace(rt.Namespace), client.MatchingFields{index.PendingRuntime: rt.Name}, client.UnsafeDisableDeepCopy); err != nil {
		return err
	}
	rt.Status.ReadyPods, rt.Status.Capacity = ready, ready*rt.PodCapacity()
	rt.Status.InUse, rt.Status.Pending = inUse, int32(len(pending.Items))

	want := int32(2)
	if rt.Spec.Replicas != nil {
		want = *rt.Spec.Replicas
	}
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
