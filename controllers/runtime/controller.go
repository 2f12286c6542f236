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
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	kerrors "k8s.io/apimachinery/pkg/util/errors"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"

	krtv1 "krt.dev/krt/api/v1alpha1"
)

// +kubebuilder:rbac:groups=krt.dev,resources=runtimes,verbs=get;list;watch
// +kubebuilder:rbac:groups=krt.dev,resources=runtimes/status,verbs=get;update;patch
// +kubebuilder:rbac:groups=apps,resources=deployments,verbs=get;list;watch;create;update;patch;delete
// +kubebuilder:rbac:groups="",resources=serviceaccounts,verbs=get;list;watch;create;update;patch;delete
// +kubebuilder:rbac:groups=rbac.authorization.k8s.io,resources=roles,verbs=get;list;watch;create;update;patch;delete;escalate;bind
// +kubebuilder:rbac:groups=rbac.authorization.k8s.io,resources=rolebindings,verbs=get;list;watch;create;update;patch;delete
// +kubebuilder:rbac:groups=networking.k8s.io,resources=networkpolicies,verbs=get;list;watch;create;update;patch;delete
// +kubebuilder:rbac:groups=discovery.k8s.io,resources=endpointslices,verbs=get;list;watch

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
}

// Reconciler reconciles Runtimes.
type Reconciler struct {
	client client.Client
	cache  client.Reader
	opts   Options
}

// Reconcile runs the sub-steps in order and records the outcome in the
// Runtime's kstatus conditions, patched once at the end.
func (r *Reconciler) Reconcile(ctx context.Context, req ctrl.Request) (result ctrl.Result, retErr error) {
	rt := &krtv1.Runtime{}
	if err := r.client.Get(ctx, req.NamespacedName, rt); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	patcher := patch.NewSerialPatcher(rt, r.client)
	defer func() {
		err := patcher.Patch(ctx, rt, patch.WithStatusObservedGeneration{}, patch.WithOwnedConditions{Conditions: []string{
			krtv1.ConditionReady, krtv1.ConditionReconciling, krtv1.ConditionStalled}})
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
	if err := r.apply(ctx, rt); err != nil {
		conditions.MarkReconciling(rt, ReasonApplyFailed, "%s", err)
		conditions.MarkFalse(rt, krtv1.ConditionReady, ReasonApplyFailed, "%s", err)
		return ctrl.Result{}, err
	}
	if err := r.summarize(ctx, rt); err != nil {
		return ctrl.Result{}, err
	}
	return ctrl.Result{RequeueAfter: statusInterval}, nil
}

// apply creates or updates each object the Runtime owns.
func (r *Reconciler) apply(ctx context.Context, rt *krtv1.Runtime) error {
	egress, err := r.apiServerEgress(ctx, rt)
	if err != nil {
		return err
	}
	var objects []client.Object
	if rt.Spec.ServiceAccountName == "" {
		objects = append(objects, serviceAccount(rt))
	}
	objects = append(objects, role(rt), roleBinding(rt), networkPolicy(rt, egress), deployment(rt, r.opts.Pod))
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
		copyOwned(want, live)
		return controllerutil.SetControllerReference(rt, live, r.client.Scheme())
	})
	if apierrors.IsAlreadyExists(err) || apierrors.IsConflict(err) {
		return fmt.Errorf("someone else changed it meanwhile; retrying: %w", err)
	}
	return err
}
