package maintainer

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/fluxcd/pkg/runtime/conditions"
	"github.com/fluxcd/pkg/runtime/patch"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	kerrors "k8s.io/apimachinery/pkg/util/errors"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/predicate"

	krtv1 "krt.dev/krt/api/v1alpha1"
	"krt.dev/krt/runtimed/store"
	storekube "krt.dev/krt/runtimed/store/kube"
)

// The maintainer's rights (make generate writes them into the ClusterRole
// krt-controller-maintainer): read ArtifactStores and write their status,
// read an S3 store's credentials Secret by name (never list or watch), and
// ask whether a WorkflowRun still exists.
//
// +kubebuilder:rbac:groups=krt.dev,resources=artifactstores,verbs=get;list;watch
// +kubebuilder:rbac:groups=krt.dev,resources=artifactstores/status,verbs=get;update;patch
// +kubebuilder:rbac:groups=krt.dev,resources=workflowruns,verbs=get
// +kubebuilder:rbac:groups="",resources=secrets,verbs=get

// Reasons on an ArtifactStore's Ready condition.
const (
	ReasonSwept            = "Swept"
	ReasonStoreUnreachable = krtv1.ReasonStoreUnreachable
	ReasonSweepFailed      = "SweepFailed"
)

// Defaults of the options and of an ArtifactStore's retention.
const (
	DefaultInterval  = time.Hour
	DefaultBlobGrace = 6 * time.Hour
	// retryAfter is how soon a failed sweep is tried again: a store that
	// was down may be back, or its Secret fixed.
	retryAfter = time.Minute
)

// DefaultRetention is an ArtifactStore's retention when its spec sets none.
var DefaultRetention = Retention{Artifacts: 168 * time.Hour, Caches: 168 * time.Hour, Logs: 720 * time.Hour}

// NoWorkflowRun is the workflowRun of a Run that belongs to none: its
// refs are never "gone", only expired.
const NoWorkflowRun = "_"

// Options configure the maintainer.
type Options struct {
	// Interval between two sweeps of one store; DefaultInterval when zero.
	Interval time.Duration
	// BlobGrace is SweepOptions.BlobGrace; DefaultBlobGrace when zero.
	BlobGrace time.Duration
	// RetentionOnly keeps what a gone WorkflowRun left until its
	// retention: for a workload cluster, whose WorkflowRuns live on the
	// hub, where this cluster cannot see them.
	RetentionOnly bool
}

// Reconciler sweeps each ArtifactStore every Interval. Leader election
// keeps one replica sweeping; Sweep being idempotent, a second one
// overlapping during a hand-over does no harm.
type Reconciler struct {
	client client.Client
	// api reads Secrets (never cached) and WorkflowRuns live, so that a
	// WorkflowRun not yet in a cache is not taken for gone.
	api  client.Reader
	opts Options
	now  func() time.Time
}

// SetupWithManager registers the maintainer.
func SetupWithManager(mgr ctrl.Manager, opts Options) error {
	if opts.Interval <= 0 {
		opts.Interval = DefaultInterval
	}
	if opts.BlobGrace <= 0 {
		opts.BlobGrace = DefaultBlobGrace
	}
	r := &Reconciler{client: mgr.GetClient(), api: mgr.GetAPIReader(), opts: opts, now: time.Now}
	return ctrl.NewControllerManagedBy(mgr).
		Named("maintainer").
		// Its own status writes must not start a sweep.
		For(&krtv1.ArtifactStore{}, builder.WithPredicates(predicate.GenerationChangedPredicate{})).
		Complete(r)
}

// Reconcile sweeps the store when its last sweep is older than Interval
// or its spec changed, and records the outcome in status.
func (r *Reconciler) Reconcile(ctx context.Context, req ctrl.Request) (result ctrl.Result, retErr error) {
	as := &krtv1.ArtifactStore{}
	if err := r.client.Get(ctx, req.NamespacedName, as); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	if wait := r.untilDue(as); wait > 0 {
		return ctrl.Result{RequeueAfter: wait}, nil
	}
	patcher := patch.NewSerialPatcher(as, r.client)
	defer func() {
		err := patcher.Patch(ctx, as, patch.WithStatusObservedGeneration{}, patch.WithOwnedConditions{Conditions: []string{
			krtv1.ConditionReady, krtv1.ConditionReconciling, krtv1.ConditionStalled}})
		retErr = kerrors.NewAggregate([]error{retErr, client.IgnoreNotFound(err)})
	}()
	res, err := r.sweep(ctx, as)
	if err != nil {
		reason := ReasonSweepFailed
		if errors.Is(err, store.ErrUnreachable) {
			reason = ReasonStoreUnreachable
		}
		conditions.MarkFalse(as, krtv1.ConditionReady, reason, "%s", err)
		return ctrl.Result{RequeueAfter: min(retryAfter, r.opts.Interval)}, nil
	}
	now := metav1.NewTime(r.now())
	as.Status.LastSweep = &now
	as.Status.Deleted = int64(res.Refs + res.Caches + res.Memos + res.Logs + res.Blobs + res.Abandoned)
	conditions.MarkTrue(as, krtv1.ConditionReady, ReasonSwept, "deleted %d refs, %d caches, %d memoized results, %d logs, %d blobs; kept %d blobs",
		res.Refs, res.Caches, res.Memos, res.Logs, res.Blobs, res.BlobsKept)
	return ctrl.Result{RequeueAfter: r.opts.Interval}, nil
}

// untilDue is how long until the store is due a sweep; zero or less when
// it is. A store whose last attempt failed, or whose spec changed, is due.
func (r *Reconciler) untilDue(as *krtv1.ArtifactStore) time.Duration {
	if as.Status.LastSweep == nil || as.Status.ObservedGeneration != as.Generation || !conditions.IsReady(as) {
		return 0
	}
	return as.Status.LastSweep.Add(r.opts.Interval).Sub(r.now())
}

// sweep opens the store as runtimed does, with the maintainer's identity,
// and runs one Sweep over it.
func (r *Reconciler) sweep(ctx context.Context, as *krtv1.ArtifactStore) (SweepResult, error) {
	s, err := storekube.Open(ctx, r.api, as)
	if err != nil {
		return SweepResult{}, err
	}
	defer func() { _ = s.Close() }()
	opts := SweepOptions{Now: r.now(), Retention: retention(as.Spec.Retention), BlobGrace: r.opts.BlobGrace}
	if !r.opts.RetentionOnly {
		opts.Exists = r.workflowRunExists
	}
	res, err := Sweep(ctx, s, opts)
	if err != nil {
		return res, fmt.Errorf("sweeping ArtifactStore %s/%s: %w", as.Namespace, as.Name, err)
	}
	return res, nil
}

// workflowRunExists asks the API server; NoWorkflowRun always exists.
func (r *Reconciler) workflowRunExists(ctx context.Context, namespace, name string) (bool, error) {
	if name == NoWorkflowRun {
		return true, nil
	}
	wr := &metav1.PartialObjectMetadata{}
	wr.SetGroupVersionKind(krtv1.GroupVersion.WithKind("WorkflowRun"))
	err := r.api.Get(ctx, types.NamespacedName{Namespace: namespace, Name: name}, wr)
	if apierrors.IsNotFound(err) {
		return false, nil
	}
	return err == nil, err
}

// retention is the spec's, with the defaults where it sets none.
func retention(spec krtv1.ArtifactRetention) Retention {
	out := DefaultRetention
	if spec.Artifacts != nil {
		out.Artifacts = spec.Artifacts.Duration
	}
	if spec.Caches != nil {
		out.Caches = spec.Caches.Duration
	}
	if spec.Logs != nil {
		out.Logs = spec.Logs.Duration
	}
	return out
}
