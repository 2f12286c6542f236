package runtime

import (
	"context"

	appsv1 "k8s.io/api/apps/v1"
	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/types"
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
	r := &Reconciler{client: mgr.GetClient(), cache: mgr.GetCache(), api: mgr.GetAPIReader(), opts: opts}
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
		Watches(&coordinationv1.Lease{}, handler.EnqueueRequestsFromMapFunc(runtimeOfPod),
			builder.WithPredicates(predicate.Funcs{UpdateFunc: func(event.UpdateEvent) bool { return false }})).
		Complete(r)
}

func runtimeOfPod(_ context.Context, o client.Object) []reconcile.Request {
	name := o.GetLabels()[krtv1.LabelRuntime]
	if name == "" {
		return nil
	}
	return []reconcile.Request{{NamespacedName: types.NamespacedName{Namespace: o.GetNamespace(), Name: name}}}
}
