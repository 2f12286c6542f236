package runtime

import (
	"context"
	"fmt"

	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"sigs.k8s.io/controller-runtime/pkg/client"

	krtv1 "krt.dev/krt/api/v1alpha1"
	"krt.dev/krt/controllers/index"
	"krt.dev/krt/runtimed/heartbeat"
)

// recycle deletes the spent pods of an ephemeral Runtime: those whose
// runtimed marked its Lease spent when it took its one Run, once that Run
// no longer holds the pod. The Deployment's ReplicaSet then starts a fresh
// pod, so the pool stays at spec.replicas, spares included. Only pods that
// carry krt's labels and belong to this Runtime are ever deleted, and the
// admission policy krt-controller-runtime-pods holds the controller to that.
func (r *Reconciler) recycle(ctx context.Context, rt *krtv1.Runtime) error {
	if rt.Mode() != krtv1.IsolationEphemeral {
		return nil
	}
	pods := &corev1.PodList{}
	if err := r.cache.List(ctx, pods, client.InNamespace(rt.Namespace), client.MatchingLabels{krtv1.LabelRuntime: rt.Name}); err != nil {
		return err
	}
	for i := range pods.Items {
		p := &pods.Items[i]
		if p.DeletionTimestamp != nil {
			continue
		}
		spent, err := r.spentAndIdle(ctx, p)
		if err != nil {
			return err
		}
		if !spent {
			continue
		}
		err = r.client.Delete(ctx, p, client.Preconditions{UID: &p.UID})
		if err != nil && !apierrors.IsNotFound(err) && !apierrors.IsConflict(err) {
			return fmt.Errorf("deleting spent pod %s: %w", p.Name, err)
		}
	}
	return nil
}

// spentAndIdle says whether the pod's Lease is marked spent and no Run
// holds the pod any more.
func (r *Reconciler) spentAndIdle(ctx context.Context, p *corev1.Pod) (bool, error) {
	lease := &coordinationv1.Lease{}
	if err := r.cache.Get(ctx, client.ObjectKeyFromObject(p), lease); err != nil {
		return false, client.IgnoreNotFound(err)
	}
	if !heartbeat.Spent(lease) || lease.Spec.HolderIdentity == nil || *lease.Spec.HolderIdentity != string(p.UID) {
		return false, nil
	}
	runs := &krtv1.RunList{}
	if err := r.cache.List(ctx, runs, client.InNamespace(p.Namespace), client.MatchingFields{index.ActivePod: p.Name}, client.UnsafeDisableDeepCopy); err != nil {
		return false, err
	}
	if holds(runs.Items, p) {
		return false, nil
	}
	// The cache may not show yet the Run that runtimed took when it marked
	// the Lease: ask the API server before deleting a pod mid-Run. This
	// is one read per ephemeral pod, once it looks idle.
	live := &krtv1.RunList{}
	if err := r.api.List(ctx, live, client.InNamespace(p.Namespace), client.MatchingFields{krtv1.FieldAssignedPod: p.Name}); err != nil {
		return false, err
	}
	return !holds(live.Items, p), nil
}

// holds says whether one of the Runs holds the pod.
func holds(runs []krtv1.Run, p *corev1.Pod) bool {
	for i := range runs {
		if runs[i].Status.AssignedPodUID == p.UID && runs[i].Status.Phase.HoldsCapacity() {
			return true
		}
	}
	return false
}
