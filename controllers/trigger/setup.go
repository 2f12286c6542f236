package trigger

import (
	"context"
	"net/http"
	"slices"
	"time"

	"github.com/fluxcd/pkg/runtime/predicates"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/client-go/util/workqueue"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	krtv1 "krt.dev/krt/api/v1alpha1"
	"krt.dev/krt/controllers/audit"
	"krt.dev/krt/sources/git"
	"krt.dev/krt/workflows/expr"
	"krt.dev/krt/workflows/runs"
)

// Options configures the trigger controller.
type Options struct {
	// Workers is how many Workflows are reconciled at once; 1 if unset.
	Workers int
	// Now is the clock cron ticks are read from; time.Now if nil. Tests
	// move it instead of waiting for a minute to pass.
	Now func() time.Time
	// HTTPClient calls the git providers' APIs for commit statuses;
	// http.DefaultClient if nil.
	HTTPClient *http.Client
	// RunURL is the --run-url template of the link a commit status
	// carries to its run (see ParseRunURL); no link if empty.
	RunURL string
	// CostLimit and ExprDeadline bound one on.when or concurrency group
	// evaluation; the expr package's defaults if zero.
	CostLimit    uint64
	ExprDeadline time.Duration
	// GitCache is where pull request heads are fetched, for repositories
	// with definitionsFrom: head: the source controller's, so a head that
	// shares its history with the followed branch fetches only what is
	// new. A private cache in a temporary directory if nil.
	GitCache *git.Cache
}

// SetupWithManager registers the trigger controller, over Workflows, and
// the commit status reporter, over WorkflowRuns.
func SetupWithManager(ctx context.Context, mgr ctrl.Manager, opts Options) error {
	env, err := expr.NewEnv(expr.WithCostLimit(opts.CostLimit), expr.WithDeadline(opts.ExprDeadline))
	if err != nil {
		return err
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	self, err := audit.Self(ctx, mgr.GetConfig())
	if err != nil {
		return err
	}
	r := &Reconciler{client: mgr.GetClient(), expr: env, now: opts.Now, self: self,
		recorder: mgr.GetEventRecorderFor("krt-trigger-controller")}
	err = ctrl.NewControllerManagedBy(mgr).
		Named("trigger").
		For(&krtv1.Workflow{}, builder.WithPredicates(predicate.Or[client.Object](
			predicate.GenerationChangedPredicate{}, predicates.ReconcileRequestedPredicate{}))).
		Watches(&krtv1.WorkflowRepository{}, handler.EnqueueRequestsFromMapFunc(r.workflowsOfRepo), builder.WithPredicates(eventsChanged())).
		Watches(&krtv1.Tool{}, handler.EnqueueRequestsFromMapFunc(r.workflowsUsing)).
		Watches(&krtv1.WorkflowRun{}, handler.EnqueueRequestsFromMapFunc(workflowOfRun), builder.WithPredicates(createdOrFinished())).
		WithOptions(controller.Options{MaxConcurrentReconciles: max(opts.Workers, 1)}).
		Complete(r)
	if err != nil {
		return err
	}
	if err := setupHeads(mgr, r, opts); err != nil {
		return err
	}
	return setupReporter(mgr, opts)
}

// workflowsOfRepo wakes a repository's Workflows when its events change.
func (r *Reconciler) workflowsOfRepo(ctx context.Context, o client.Object) []reconcile.Request {
	list := &krtv1.WorkflowList{}
	if err := r.client.List(ctx, list, client.InNamespace(o.GetNamespace()),
		client.MatchingLabels{krtv1.LabelRepository: o.GetName()}); err != nil {
		return nil
	}
	out := make([]reconcile.Request, 0, len(list.Items))
	for i := range list.Items {
		out = append(out, reconcile.Request{NamespacedName: client.ObjectKeyFromObject(&list.Items[i])})
	}
	return out
}

// workflowsUsing wakes the Workflows that use a Tool: one that was
// missing may now be there.
func (r *Reconciler) workflowsUsing(ctx context.Context, o client.Object) []reconcile.Request {
	list := &krtv1.WorkflowList{}
	if err := r.client.List(ctx, list, client.InNamespace(o.GetNamespace())); err != nil {
		return nil
	}
	var out []reconcile.Request
	for i := range list.Items {
		if slices.Contains(runs.UsedTools(&list.Items[i].Spec), o.GetName()) {
			out = append(out, reconcile.Request{NamespacedName: client.ObjectKeyFromObject(&list.Items[i])})
		}
	}
	return out
}

// workflowOfRun wakes a run's Workflow to name it its last run, and, once
// it has finished, to apply runRetention.
func workflowOfRun(_ context.Context, o client.Object) []reconcile.Request {
	wr, ok := o.(*krtv1.WorkflowRun)
	if !ok || wr.Spec.Workflow == "" {
		return nil
	}
	return []reconcile.Request{{NamespacedName: client.ObjectKey{Namespace: wr.Namespace, Name: wr.Spec.Workflow}}}
}

func createdOrFinished() predicate.Predicate {
	return predicate.Funcs{
		UpdateFunc: func(e event.UpdateEvent) bool {
			old, ok1 := e.ObjectOld.(*krtv1.WorkflowRun)
			new, ok2 := e.ObjectNew.(*krtv1.WorkflowRun)
			return ok1 && ok2 && !old.Status.Phase.Terminal() && new.Status.Phase.Terminal()
		},
		DeleteFunc:  func(event.DeleteEvent) bool { return false },
		GenericFunc: func(event.GenericEvent) bool { return false },
	}
}

// eventsChanged passes a repository whose pushes, pull requests or PR
// policy changed: its conditions and other status churn start no run.
func eventsChanged() predicate.Predicate {
	return predicate.Funcs{UpdateFunc: func(e event.UpdateEvent) bool {
		old, ok1 := e.ObjectOld.(*krtv1.WorkflowRepository)
		new, ok2 := e.ObjectNew.(*krtv1.WorkflowRepository)
		if !ok1 || !ok2 {
			return true
		}
		return !apiequality.Semantic.DeepEqual(old.Status.Pushes, new.Status.Pushes) ||
			!apiequality.Semantic.DeepEqual(old.Status.PullRequests, new.Status.PullRequests) ||
			!apiequality.Semantic.DeepEqual(old.Spec.PullRequests, new.Spec.PullRequests)
	}}
}

// reporterRateLimiter backs off a failing provider up to ten minutes, so
// a bad token costs a few calls an hour, not a storm.
func reporterRateLimiter() workqueue.TypedRateLimiter[reconcile.Request] {
	return workqueue.NewTypedItemExponentialFailureRateLimiter[reconcile.Request](time.Second, 10*time.Minute)
}
