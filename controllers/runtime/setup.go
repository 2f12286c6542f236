package runtime

import (
	"context"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/util/workqueue"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	krtv1 "krt.dev/krt/api/v1alpha1"
)

// SetupWithManager registers the Runtime controller. The manager's cache
// must have the index package's indexes.
func SetupWithManager(mgr ctrl.Manager, opts Options) error {
	r := &Reconciler{client: mgr.GetClient(), cache: mgr.GetCache(), api: mgr.GetAPIReader(), opts: opts, scaler: newScaler(opts.Scale)}
	return ctrl.NewControllerManagedBy(mgr).
		Named("runtime").
		For(&krtv1.Runtime{}).
		Owns(&appsv1.Deployment{}).
		Owns(&corev1.ServiceAccount{}).
		Owns(&rbacv1.Role{}).
		Owns(&rbacv1.RoleBinding{}).
		Owns(&networkingv1.NetworkPolicy{}).
		// A pod turning Ready, or heartbeating for the first time, changes
		// the pool's status; routine renewals do not.
		Watches(&corev1.Pod{}, handler.EnqueueRequestsFromMapFunc(runtimeOfPod)).
		Watches(&krtv1.ArtifactStore{}, handler.EnqueueRequestsFromMapFunc(r.runtimesOfStore),
			builder.WithPredicates(predicate.GenerationChangedPredicate{})).
		Watches(&coordinationv1.Lease{}, handler.EnqueueRequestsFromMapFunc(runtimeOfPod),
			builder.WithPredicates(predicate.Funcs{UpdateFunc: spentChanged})).
		// An ephemeral pod's Run ending frees the pod for recycling, and
		// a draining pod's for removal; a new Run may grow an autoscaled
		// pool.
		Watches(&krtv1.Run{}, handler.Funcs{
			CreateFunc: func(ctx context.Context, e event.CreateEvent, q workqueue.TypedRateLimitingInterface[reconcile.Request]) {
				r.coalesce(ctx, e.Object, q)
			},
			UpdateFunc: func(ctx context.Context, e event.UpdateEvent, q workqueue.TypedRateLimitingInterface[reconcile.Request]) {
				r.coalesce(ctx, e.ObjectNew, q)
			},
		}, builder.WithPredicates(predicate.Funcs{CreateFunc: runPending, UpdateFunc: runEnded})).
		Complete(r)
}

func runtimeOfPod(_ context.Context, o client.Object) []reconcile.Request {
	name := o.GetLabels()[krtv1.LabelRuntime]
	if name == "" {
		return nil
	}
	return []reconcile.Request{{NamespacedName: types.NamespacedName{Namespace: o.GetNamespace(), Name: name}}}
}

// spentChanged passes the one Lease update the controller acts on: runtimed
// marking its pod spent.
func spentChanged(e event.UpdateEvent) bool {
	return e.ObjectOld.GetLabels()[krtv1.LabelSpent] != e.ObjectNew.GetLabels()[krtv1.LabelSpent]
}

func runEnded(e event.UpdateEvent) bool {
	o, ok1 := e.ObjectOld.(*krtv1.Run)
	n, ok2 := e.ObjectNew.(*krtv1.Run)
	return ok1 && ok2 && o.Status.Phase.HoldsCapacity() && !n.Status.Phase.HoldsCapacity()
}

// runCoalesce gathers the Run events of a burst into one reconcile of
// their Runtime: each reconcile may write its status, and 200 Runs must
// not cost 200 writes. It is also the most a new Run waits to be counted.
const runCoalesce = 250 * time.Millisecond

func (r *Reconciler) coalesce(ctx context.Context, run client.Object, q workqueue.TypedRateLimitingInterface[reconcile.Request]) {
	for _, req := range r.runtimeOfRun(ctx, run) {
		q.AddAfter(req, runCoalesce)
	}
}

func runPending(e event.CreateEvent) bool {
	run, ok := e.Object.(*krtv1.Run)
	return ok && run.Pending()
}

// runtimeOfRun wakes the Runtime of a new Run or of one that let go of its
// pod, if the Runtime recycles pods, scales itself or is draining pods.
func (r *Reconciler) runtimeOfRun(ctx context.Context, o client.Object) []reconcile.Request {
	run, ok := o.(*krtv1.Run)
	if !ok {
		return nil
	}
	key := types.NamespacedName{Namespace: run.Namespace, Name: run.Spec.Runtime}
	rt := &krtv1.Runtime{}
	if err := r.cache.Get(ctx, key, rt); err != nil {
		return nil
	}
	grows := run.Pending() && rt.Spec.Autoscaling != nil
	frees := !run.Pending() && (rt.Mode() == krtv1.IsolationEphemeral || rt.Spec.Autoscaling != nil || rt.Status.Draining > 0)
	if !grows && !frees {
		return nil
	}
	return []reconcile.Request{{NamespacedName: key}}
}
