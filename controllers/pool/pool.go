// Package pool reads a Runtime's warm pool from the controller's cache in
// a fixed number of reads, however many pods it has: its pods, their
// heartbeat Leases, and how many Runs hold a slot on each. The scheduler
// reads it on every decision and the Runtime controller on every pass, so
// a read per pod (a Lease copied out of the cache, an index lookup) made
// each decision's cost grow with the pool.
package pool

import (
	"context"

	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	krtv1 "krt.dev/krt/api/v1alpha1"
	"krt.dev/krt/controllers/index"
)

// Member is one pod of the pool. Pod and Lease are the cache's own objects,
// not copies: read them, never modify them.
type Member struct {
	Pod *corev1.Pod
	// Lease is the pod's heartbeat, nil before its runtimed first writes it.
	Lease *coordinationv1.Lease
	// Runs is how many Runs of this Runtime the cache shows holding a slot
	// on this pod: Scheduled or Running, assigned to this pod's UID, not a
	// namesake's. It relies on a Run's spec.runtime never changing, which
	// the krt-run-spec admission policy enforces (docs/security.md).
	Runs int
}

// Read lists the pool of Runtime runtime in namespace: three cache reads.
func Read(ctx context.Context, c client.Reader, namespace, runtime string) ([]Member, error) {
	in, mine := client.InNamespace(namespace), client.MatchingLabels{krtv1.LabelRuntime: runtime}
	pods := &corev1.PodList{}
	if err := c.List(ctx, pods, in, mine, client.UnsafeDisableDeepCopy); err != nil {
		return nil, err
	}
	leases := &coordinationv1.LeaseList{}
	if err := c.List(ctx, leases, in, mine, client.UnsafeDisableDeepCopy); err != nil {
		return nil, err
	}
	byName := make(map[string]*coordinationv1.Lease, len(leases.Items))
	for i := range leases.Items {
		byName[leases.Items[i].Name] = &leases.Items[i]
	}
	runs := &krtv1.RunList{}
	if err := c.List(ctx, runs, in, client.MatchingFields{index.ActiveRuntime: runtime}, client.UnsafeDisableDeepCopy); err != nil {
		return nil, err
	}
	slots := make(map[types.UID]int, len(pods.Items))
	for i := range runs.Items {
		slots[runs.Items[i].Status.AssignedPodUID]++
	}
	out := make([]Member, len(pods.Items))
	for i := range pods.Items {
		p := &pods.Items[i]
		out[i] = Member{Pod: p, Lease: byName[p.Name], Runs: slots[p.UID]}
	}
	return out, nil
}
