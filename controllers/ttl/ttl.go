// Package ttl deletes finished Runs once their ttlSecondsAfterFinished has
// passed, as Kubernetes' TTL-after-finished controller does for Jobs, so
// finished Runs do not pile up in etcd.
package ttl

import (
	"context"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/types"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	krtv1 "krt.dev/krt/api/v1alpha1"
)

// The ttl controller's rights (make generate writes them into the
// ClusterRole krt-controller-ttl): read Runs, delete the expired ones.
//
// +kubebuilder:rbac:groups=krt.dev,resources=runs,verbs=get;list;watch;delete

// Collector deletes expired Runs.
type Collector struct {
	cache  client.Reader
	writer client.Client
	now    func() time.Time
}

// SetupWithManager registers the collector; it looks only at finished Runs
// that have a TTL.
func SetupWithManager(mgr ctrl.Manager) error {
	c := &Collector{cache: mgr.GetCache(), writer: mgr.GetClient(), now: time.Now}
	expiring := predicate.NewPredicateFuncs(func(o client.Object) bool {
		r, ok := o.(*krtv1.Run)
		return ok && r.Spec.TTLSecondsAfterFinished != nil && r.Status.Phase.Terminal()
	})
	return ctrl.NewControllerManagedBy(mgr).
		Named("ttl").
		For(&krtv1.Run{}, builder.WithPredicates(expiring)).
		Complete(c)
}

// Reconcile deletes the Run if it expired, or waits until it does.
func (c *Collector) Reconcile(ctx context.Context, req reconcile.Request) (reconcile.Result, error) {
	run := &krtv1.Run{}
	if err := c.cache.Get(ctx, req.NamespacedName, run); err != nil {
		return reconcile.Result{}, client.IgnoreNotFound(err)
	}
	expiry, ok := expiresAt(run)
	if !ok {
		return reconcile.Result{}, nil
	}
	if wait := expiry.Sub(c.now()); wait > 0 {
		return reconcile.Result{RequeueAfter: wait}, nil
	}
	// The UID precondition keeps a newer Run of the same name safe.
	err := c.writer.Delete(ctx, run, client.Preconditions{UID: ptrUID(run.UID)}, client.PropagationPolicy("Background"))
	if apierrors.IsNotFound(err) || apierrors.IsConflict(err) {
		return reconcile.Result{}, nil
	}
	return reconcile.Result{}, err
}

func expiresAt(run *krtv1.Run) (time.Time, bool) {
	if run.Spec.TTLSecondsAfterFinished == nil || !run.Status.Phase.Terminal() || run.Status.CompletionTime == nil {
		return time.Time{}, false
	}
	return run.Status.CompletionTime.Add(time.Duration(*run.Spec.TTLSecondsAfterFinished) * time.Second), true
}

func ptrUID(u types.UID) *types.UID { return &u }
