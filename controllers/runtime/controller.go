// Package runtime turns a Runtime into what a cluster runs: a Deployment of
// warm pods (the runtime container plus the runtimed sidecar), their
// ServiceAccount, a least-privilege Role and RoleBinding, and a
// NetworkPolicy. It reports the pool's readiness and use in status.
package runtime

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/fluxcd/pkg/runtime/conditions"
	"github.com/fluxcd/pkg/runtime/patch"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	kerrors "k8s.io/apimachinery/pkg/util/errors"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"

	krtv1 "krt.dev/krt/api/v1alpha1"
)

// The runtime controller's rights (make generate writes them into the
// ClusterRole krt-controller-runtime). It creates and updates what a
// Runtime owns, and the garbage collector deletes it. It never
// holds escalate: it grants runtimed the ClusterRole krt-runtimed, which
// it may bind and nothing else, and a Role naming the Runtime's Secrets,
// which needs get on Secrets (never list or watch). It deletes the spent
// pods of ephemeral Runtimes (recycle.go), and patches the draining mark
// and deletion cost onto the pods of a shrinking pool (drain.go); an
// admission policy keeps both rights to runtime pods. The API server's
// EndpointSlices, for the NetworkPolicy's egress, are read in default only.
//
// +kubebuilder:rbac:groups=krt.dev,resources=runtimes,verbs=get;list;watch
// +kubebuilder:rbac:groups=krt.dev,resources=runtimes/status,verbs=get;update;patch
// +kubebuilder:rbac:groups=krt.dev,resources=runs,verbs=get;list;watch
// +kubebuilder:rbac:groups=krt.dev,resources=artifactstores,verbs=get;list;watch
// +kubebuilder:rbac:groups="",resources=pods,verbs=get;list;watch;patch;delete
// +kubebuilder:rbac:groups=coordination.k8s.io,resources=leases,verbs=get;list;watch
// +kubebuilder:rbac:groups=apps,resources=deployments,verbs=get;list;watch;create;update
// +kubebuilder:rbac:groups="",resources=serviceaccounts,verbs=get;list;watch;create;update
// +kubebuilder:rbac:groups=rbac.authorization.k8s.io,resources=roles;rolebindings,verbs=get;list;watch;create;update
// +kubebuilder:rbac:groups=rbac.authorization.k8s.io,resources=clusterroles,verbs=bind,resourceNames=krt-runtimed
// +kubebuilder:rbac:groups="",resources=secrets,verbs=get
// +kubebuilder:rbac:groups=networking.k8s.io,resources=networkpolicies,verbs=get;list;watch;create;update
// +kubebuilder:rbac:groups=discovery.k8s.io,resources=endpointslices,verbs=get;list;watch,namespace=default

// Reasons on a Runtime's conditions.
const (
	ReasonAvailable   = "Available"
	ReasonProgressing = "Progressing"
	ReasonApplyFailed = "ApplyFailed"
)

// statusInterval refreshes the pool's counts; counting is cheap, and the
// status write happens only when a count changed.
const statusInterval = 10 * time.Second

// Options configures the Reconciler.
type Options struct {
	Pod PodOptions
	// RuntimedClusterRole is bound to each Runtime's ServiceAccount in its
	// namespace; DefaultRuntimedClusterRole when empty. The controller's
	// bind right names it (resourceNames), so the two must agree.
	RuntimedClusterRole string
	Scale               ScaleOptions
}

// Reconciler reconciles Runtimes.
type Reconciler struct {
	client client.Client
	cache  client.Reader
	// api reads live what the label-selected cache leaves out, such as a
	// ServiceAccount krt did not make.
	api    client.Reader
	opts   Options
	scaler *scaler
}

// Reconcile runs the sub-steps in order and records the outcome in the
// Runtime's kstatus conditions, patched once at the end.
func (r *Reconciler) Reconcile(ctx context.Context, req ctrl.Request) (result ctrl.Result, retErr error) {
	rt := &krtv1.Runtime{}
	if err := r.client.Get(ctx, req.NamespacedName, rt); err != nil {
		if apierrors.IsNotFound(err) {
			r.scaler.forget(req.NamespacedName)
		}
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	patcher := patch.NewSerialPatcher(rt, r.client)
	defer func() {
		err := patcher.Patch(ctx, rt, patch.WithStatusObservedGeneration{}, patch.WithOwnedConditions{Conditions: []string{
			krtv1.ConditionReady, krtv1.ConditionReconciling, krtv1.ConditionStalled, krtv1.ConditionScaling,
			krtv1.ConditionArtifactStore}})
		retErr = kerrors.NewAggregate([]error{retErr, client.IgnoreNotFound(err)})
	}()

	if err := Validate(rt); err != nil {
		conditions.MarkStalled(rt, ReasonInvalidSpec, "%s", err)
		conditions.MarkFalse(rt, krtv1.ConditionReady, ReasonInvalidSpec, "%s", err)
		conditions.Delete(rt, krtv1.ConditionReconciling)
		return ctrl.Result{}, nil // nothing to do until the spec changes
	}
	if err := r.dedicatedServiceAccount(ctx, rt); err != nil {
		conditions.MarkStalled(rt, ReasonForeignServiceAccount, "%s", err)
		conditions.MarkFalse(rt, krtv1.ConditionReady, ReasonForeignServiceAccount, "%s", err)
		conditions.Delete(rt, krtv1.ConditionReconciling)
		// The account may be labelled later: look again, slowly.
		return ctrl.Result{RequeueAfter: statusInterval}, nil
	}
	conditions.Delete(rt, krtv1.ConditionStalled)
	plan, err := r.scale(ctx, rt)
	if err != nil {
		return ctrl.Result{}, err
	}
	if err := r.apply(ctx, rt, plan.replicas); err != nil {
		conditions.MarkReconciling(rt, ReasonApplyFailed, "%s", err)
		conditions.MarkFalse(rt, krtv1.ConditionReady, ReasonApplyFailed, "%s", err)
		return ctrl.Result{}, err
	}
	if err := r.recycle(ctx, rt); err != nil {
		return ctrl.Result{}, err
	}
	if err := r.summarize(ctx, rt, plan); err != nil {
		return ctrl.Result{}, err
	}
	after := statusInterval
	if !plan.recheck.IsZero() {
		after = max(min(after, time.Until(plan.recheck)), 100*time.Millisecond)
	}
	return ctrl.Result{RequeueAfter: after}, nil
}

// apply creates or updates each object the Runtime owns; the Deployment
// gets the replicas the scaler decided.
func (r *Reconciler) apply(ctx context.Context, rt *krtv1.Runtime, replicas int32) error {
	egress, err := r.apiServerEgress(ctx, rt)
	if err != nil {
		return err
	}
	var objects []client.Object
	if rt.Spec.ServiceAccountName == "" {
		objects = append(objects, serviceAccount(rt))
	}
	clusterRole := r.opts.RuntimedClusterRole
	if clusterRole == "" {
		clusterRole = DefaultRuntimedClusterRole
	}
	as, err := r.artifactStore(ctx, rt)
	if err != nil {
		return err
	}
	podOpts := r.opts.Pod
	podOpts.ArtifactStore = as
	dep, err := deployment(rt, podOpts, replicas)
	if err != nil {
		return err
	}
	objects = append(objects, role(rt, as), roleBinding(rt), runtimedBinding(rt, clusterRole),
		networkPolicy(rt, egress), dep)
	var errs []error
	for _, want := range objects {
		if err := r.createOrUpdate(ctx, rt, want); err != nil {
			errs = append(errs, fmt.Errorf("%T %s: %w", want, want.GetName(), err))
		}
	}
	return errors.Join(errs...)
}

func (r *Reconciler) apiServerEgress(ctx context.Context, rt *krtv1.Runtime) ([]networkingEgress, error) {
	if rt.Spec.Network == nil {
		return nil, nil
	}
	return apiServerEgress(ctx, r.cache)
}

// createOrUpdate makes the live object match want in the fields krt owns,
// leaving fields that others (a mutating webhook, say) set alone.
func (r *Reconciler) createOrUpdate(ctx context.Context, rt *krtv1.Runtime, want client.Object) error {
	live := want.DeepCopyObject().(client.Object)
	_, err := controllerutil.CreateOrUpdate(ctx, r.client, live, func() error {
		if err := sameRoleRef(want, live); err != nil {
			return err
		}
		copyOwned(want, live)
		return controllerutil.SetControllerReference(rt, live, r.client.Scheme())
	})
	if apierrors.IsAlreadyExists(err) {
		// The cache holds only objects labelled krt.dev/runtime.
		return fmt.Errorf("it exists but is not in krt's cache: either it was just made and the next try finds it, "+
			"or it lacks the label %s and krt will not take it over: %w", krtv1.LabelRuntime, err)
	}
	if apierrors.IsConflict(err) {
		return fmt.Errorf("someone else changed it meanwhile; retrying: %w", err)
	}
	return err
}

// sameRoleRef refuses a RoleBinding of the Runtime's name that grants some
// other role: roleRef cannot change, and krt must not bind its pods to
// whatever role someone placed there.
func sameRoleRef(want, live client.Object) error {
	w, ok := want.(*rbacv1.RoleBinding)
	l, _ := live.(*rbacv1.RoleBinding)
	if !ok || l.CreationTimestamp.IsZero() {
		return nil
	}
	if got := l.RoleRef; got != w.RoleRef {
		return fmt.Errorf("it binds %s %s, not %s %s: delete it and krt makes it again", got.Kind, got.Name, w.RoleRef.Kind, w.RoleRef.Name)
	}
	return nil
}
