package runtime

import (
	"context"
	"fmt"

	"github.com/fluxcd/pkg/runtime/conditions"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	krtv1 "krt.dev/krt/api/v1alpha1"
)

// Reasons on the ArtifactStore condition.
const (
	ReasonStoreFound     = "Found"
	ReasonStoreMissing   = krtv1.ReasonNoArtifactStore
	artifactStoreMissing = "ArtifactStore %s/%s, named by spec.artifactStore, does not exist: the pods run, " +
		"but Runs that move artifacts, caches or logs fail with NoArtifactStore until it is created"
)

// artifactStore is the ArtifactStore the Runtime names, or nil when it
// names none or it does not exist. A missing store is not the pool's
// failure: its pods still run the Runs that need no store, and the
// ArtifactStore condition says what is wrong.
func (r *Reconciler) artifactStore(ctx context.Context, rt *krtv1.Runtime) (*krtv1.ArtifactStore, error) {
	name := rt.Spec.ArtifactStore
	if name == "" {
		conditions.Delete(rt, krtv1.ConditionArtifactStore)
		return nil, nil
	}
	as := &krtv1.ArtifactStore{}
	err := r.cache.Get(ctx, types.NamespacedName{Namespace: rt.Namespace, Name: name}, as)
	if apierrors.IsNotFound(err) {
		conditions.MarkFalse(rt, krtv1.ConditionArtifactStore, ReasonStoreMissing, artifactStoreMissing, rt.Namespace, name)
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading ArtifactStore %s/%s: %w", rt.Namespace, name, err)
	}
	conditions.MarkTrue(rt, krtv1.ConditionArtifactStore, ReasonStoreFound, "ArtifactStore %s/%s exists", rt.Namespace, name)
	return as, nil
}

// runtimesOfStore wakes the Runtimes that name an ArtifactStore: its
// claim is mounted in their pods, and its Secret granted in their Role.
func (r *Reconciler) runtimesOfStore(ctx context.Context, o client.Object) []reconcile.Request {
	list := &krtv1.RuntimeList{}
	if err := r.cache.List(ctx, list, client.InNamespace(o.GetNamespace())); err != nil {
		return nil
	}
	var out []reconcile.Request
	for i := range list.Items {
		if list.Items[i].Spec.ArtifactStore == o.GetName() {
			out = append(out, reconcile.Request{NamespacedName: client.ObjectKeyFromObject(&list.Items[i])})
		}
	}
	return out
}
