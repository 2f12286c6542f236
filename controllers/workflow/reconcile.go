// Package workflow is the WorkflowRun engine: it walks a run's DAG,
// evaluates `if` and interpolates values in CEL, creates one Run per node
// in the hub or in a remote Cluster, holds approval gates, and folds the
// Runs' results back into the run's compact node status.
package workflow

import (
	"context"
	"time"

	"github.com/fluxcd/pkg/runtime/conditions"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	kerrors "k8s.io/apimachinery/pkg/util/errors"
	"k8s.io/client-go/tools/record"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/log"

	krtv1 "krt.dev/krt/api/v1alpha1"
	"krt.dev/krt/controllers/cluster"
	"krt.dev/krt/controllers/tracing"
	"krt.dev/krt/workflows/expr"
)

// The workflow controller's rights (make generate writes them into the
// ClusterRole krt-controller-workflow): it drives WorkflowRuns, creates
// and cancels their Runs here, and reads what a run refers to. Runs in
// other clusters go through each Cluster's own kubeconfig, not these.
//
// +kubebuilder:rbac:groups=krt.dev,resources=workflowruns,verbs=get;list;watch;patch
// +kubebuilder:rbac:groups=krt.dev,resources=workflowruns/status,verbs=get;update;patch
// +kubebuilder:rbac:groups=krt.dev,resources=runs,verbs=get;list;watch;create;patch
// +kubebuilder:rbac:groups=krt.dev,resources=approvals;clusters;workflows;workflowrepositories,verbs=get;list;watch
// +kubebuilder:rbac:groups="",resources=events,verbs=create;patch

// Reasons on a WorkflowRun's conditions and events.
const (
	ReasonProgressing        = "Progressing"
	ReasonSucceeded          = "Succeeded"
	ReasonFailed             = "Failed"
	ReasonCancelled          = "Cancelled"
	ReasonAwaitingApproval   = "AwaitingApproval"
	ReasonClusterUnavailable = "ClusterUnavailable"
	ReasonInvalidDefinition  = "InvalidDefinition"
	// ReasonForeignRun is the event of a node whose Run name is taken by
	// another WorkflowRun's Run.
	ReasonForeignRun = "ForeignRun"
	// ConditionClusterUnavailable is True while a node waits for a cluster.
	ConditionClusterUnavailable = "ClusterUnavailable"
)

// Reconciler runs WorkflowRuns.
type Reconciler struct {
	client client.Client
	// live reads a Run the cache has not seen yet, after a create found
	// it already there.
	live     client.Reader
	reg      *cluster.Registry
	expr     *expr.Env
	recorder record.EventRecorder
	now      func() time.Time
	// tracer emits the spans of runs, nodes and Runs; nil when tracing
	// is off.
	tracer *tracing.Tracer
	// self is the controller's own name as the API server knows it: a
	// cancel it makes must carry it (the audit admission policy).
	self string
	// written is each run's last status patch, and one held back.
	written written
}

// Reconcile moves one run forward as far as it can go now, and patches
// its status once at the end.
func (r *Reconciler) Reconcile(ctx context.Context, req ctrl.Request) (result ctrl.Result, retErr error) {
	cached := &krtv1.WorkflowRun{}
	if err := r.client.Get(ctx, req.NamespacedName, cached); err != nil {
		if apierrors.IsNotFound(err) {
			r.written.forget(req.NamespacedName)
		}
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	// The patch names nodes by index in the version stored, and a pass
	// working from a stale read could undo a newer pass's nodes. The patch
	// is therefore conditional on that version: a stale pass conflicts
	// and is retried from a fresh read.
	stored, wr, ended, wrote := r.written.start(req.NamespacedName, cached)
	logger := log.FromContext(ctx).WithValues(wr.LogValues()...)
	ctx = log.IntoContext(ctx, logger)
	p := r.newPass(wr)
	p.log, p.ended = logger, ended
	defer func() {
		wr.Status.ObservedGeneration = wr.Generation
		retErr = kerrors.NewAggregate([]error{retErr, r.store(ctx, req.NamespacedName, p, stored, wrote, &result)})
	}()
	if err := p.audit(ctx); err != nil {
		return ctrl.Result{}, err
	}
	if err := r.step(ctx, p); err != nil {
		// The error's backoff requeues; a timer as well would be ignored.
		return ctrl.Result{}, err
	}
	return p.result(), nil
}

// step dispatches on the run's phase. A cancel wins over everything but
// an end already reached.
func (r *Reconciler) step(ctx context.Context, p *pass) error {
	wr := p.wr
	if wr.Status.Phase == "" {
		msg, err := p.rerunRefusal(ctx)
		if err != nil {
			return err
		}
		if msg != "" {
			p.end(krtv1.WorkflowFailed, ReasonRerunRefused, msg)
			return nil
		}
	}
	switch {
	case wr.Status.Phase.Terminal():
		if wr.Status.Phase == krtv1.WorkflowCancelled {
			// A Run created just before the cancel must not run on.
			return p.cancelRuns(ctx)
		}
		return nil
	case wr.Annotations[krtv1.AnnotationDefinitionError] != "":
		// Made to fail by its maker, who found the definition invalid.
		p.end(krtv1.WorkflowFailed, ReasonInvalidDefinition, wr.Annotations[krtv1.AnnotationDefinitionError])
		return nil
	case wr.Spec.CancelRequested:
		return p.cancel(ctx)
	case wr.Status.Phase == krtv1.WorkflowPending,
		wr.Status.Phase == "" && !wr.Spec.RequireApproval:
		// Pending is a concurrency group's hold: each pass asks again.
		if ok, err := p.admit(ctx); err != nil || !ok {
			return err
		}
	case wr.Status.Phase == krtv1.WorkflowAwaitingApproval, wr.Status.Phase == "":
		// A new run that needs an approval waits for it before it takes
		// its place in a concurrency group, so an unapproved fork's run
		// never cancels a trusted one.
		wr.Status.Phase = krtv1.WorkflowAwaitingApproval
		if done, err := p.awaitRunApproval(ctx); err != nil || !done {
			return err
		}
	}
	if wr.Status.Phase != krtv1.WorkflowRunning {
		return nil
	}
	return p.progress(ctx)
}

// begin moves a new run to Running.
func (p *pass) begin() {
	now := metav1.NewTime(p.now)
	p.wr.Status.Phase = krtv1.WorkflowRunning
	p.wr.Status.StartTime = &now
}

// markRunning keeps the kstatus conditions of a run in progress.
func markRunning(wr *krtv1.WorkflowRun, reason, msg string) {
	conditions.MarkReconciling(wr, reason, "%s", msg)
	conditions.MarkUnknown(wr, krtv1.ConditionReady, reason, "%s", msg)
}

// end records how a run ended, with its kstatus conditions and one event.
func (p *pass) end(phase krtv1.WorkflowRunPhase, reason, msg string) {
	wr := p.wr
	now := metav1.NewTime(p.now)
	wr.Status.Phase = phase
	wr.Status.CompletionTime = &now
	wr.Status.Message = krtv1.TruncateMessage(msg)
	conditions.Delete(wr, ConditionClusterUnavailable)
	p.log.Info("workflow run ended", "phase", phase, "reason", reason, "message", wr.Status.Message)
	if phase == krtv1.WorkflowSucceeded {
		conditions.Delete(wr, krtv1.ConditionReconciling)
		conditions.Delete(wr, krtv1.ConditionStalled)
		conditions.MarkTrue(wr, krtv1.ConditionReady, reason, "%s", msg)
		p.r.recorder.Event(wr, corev1.EventTypeNormal, reason, msg)
		return
	}
	conditions.MarkStalled(wr, reason, "%s", msg)
	conditions.MarkFalse(wr, krtv1.ConditionReady, reason, "%s", msg)
	p.r.recorder.Event(wr, corev1.EventTypeWarning, reason, msg)
}
