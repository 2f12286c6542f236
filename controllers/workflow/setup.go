package workflow

import (
	"context"
	"strings"
	"time"

	"github.com/fluxcd/pkg/runtime/predicates"
	"k8s.io/apimachinery/pkg/types"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
	"sigs.k8s.io/controller-runtime/pkg/source"

	krtv1 "krt.dev/krt/api/v1alpha1"
	"krt.dev/krt/controllers/audit"
	"krt.dev/krt/controllers/cluster"
	"krt.dev/krt/controllers/tracing"
	"krt.dev/krt/workflows/expr"
)

// Options configures the workflow controller.
type Options struct {
	// Workers is how many WorkflowRuns are reconciled at once; 1 if unset.
	Workers int
	// CostLimit bounds the CEL cost of one expression evaluation; the
	// expr package's default if 0.
	CostLimit uint64
	// ExprDeadline bounds the wall time of one evaluation; the expr
	// package's default if 0.
	ExprDeadline time.Duration
	// Tracer emits each run's trace; nil for none.
	Tracer *tracing.Tracer
}

// SetupWithManager registers the WorkflowRun controller. It watches Runs
// in the hub, and, through reg, in each remote cluster as it connects;
// reg may be nil when steps never name a cluster.
func SetupWithManager(ctx context.Context, mgr ctrl.Manager, reg *cluster.Registry, opts Options) error {
	env, err := expr.NewEnv(expr.WithCostLimit(opts.CostLimit), expr.WithDeadline(opts.ExprDeadline))
	if err != nil {
		return err
	}
	if err := mgr.GetFieldIndexer().IndexField(ctx, &krtv1.Approval{}, indexApprovalRun, approvalRun); err != nil {
		return err
	}
	if err := mgr.GetFieldIndexer().IndexField(ctx, &krtv1.WorkflowRun{}, indexGroup, runGroup); err != nil {
		return err
	}
	self, err := audit.Self(ctx, mgr.GetConfig())
	if err != nil {
		return err
	}
	r := &Reconciler{client: mgr.GetClient(), live: mgr.GetAPIReader(), reg: reg, expr: env,
		recorder: mgr.GetEventRecorderFor("krt-workflow-controller"), now: time.Now, self: self, tracer: opts.Tracer}
	c, err := ctrl.NewControllerManagedBy(mgr).
		Named("workflow").
		For(&krtv1.WorkflowRun{}, builder.WithPredicates(predicate.Or[client.Object](
			predicate.GenerationChangedPredicate{}, predicates.ReconcileRequestedPredicate{}, phaseChanged()))).
		Watches(&krtv1.Run{}, handler.EnqueueRequestsFromMapFunc(originOf), builder.WithPredicates(runChanged())).
		Watches(&krtv1.Approval{}, handler.EnqueueRequestsFromMapFunc(runOfApproval)).
		Watches(&krtv1.WorkflowRun{}, handler.EnqueueRequestsFromMapFunc(r.waitersOf), builder.WithPredicates(leftGroup())).
		WithOptions(controller.Options{MaxConcurrentReconciles: max(opts.Workers, 1)}).
		Build(r)
	if err != nil {
		return err
	}
	if reg != nil {
		reg.OnConnect(func(_ types.NamespacedName, rem *cluster.Remote) error {
			return c.Watch(source.Kind(rem.Cache, &krtv1.Run{},
				handler.TypedEnqueueRequestsFromMapFunc(func(ctx context.Context, run *krtv1.Run) []reconcile.Request {
					return originOf(ctx, run)
				}), runChangedTyped()))
		})
	}
	return nil
}

// originOf maps a Run, in any cluster, to the WorkflowRun that made it.
func originOf(_ context.Context, o client.Object) []reconcile.Request {
	ns, name, ok := strings.Cut(o.GetAnnotations()[krtv1.AnnotationOrigin], "/")
	if !ok || ns == "" || name == "" {
		return nil
	}
	return []reconcile.Request{{NamespacedName: types.NamespacedName{Namespace: ns, Name: name}}}
}

func approvalRun(o client.Object) []string {
	return []string{o.(*krtv1.Approval).Spec.WorkflowRun}
}

func runOfApproval(_ context.Context, o client.Object) []reconcile.Request {
	a, ok := o.(*krtv1.Approval)
	if !ok || a.Spec.WorkflowRun == "" {
		return nil
	}
	return []reconcile.Request{{NamespacedName: types.NamespacedName{Namespace: a.Namespace, Name: a.Spec.WorkflowRun}}}
}

// runMoved is what wakes a run: a Run that ended (or came back from an
// end), or began a retry. Being scheduled, claimed and started are not
// the run's affair: waking for each would cost a status patch per step
// that the user would not miss, in a chain where every write counts.
func runMoved(old, new *krtv1.Run) bool {
	if old.Status.Phase.Terminal() != new.Status.Phase.Terminal() {
		return true
	}
	return new.Status.Attempt > 1 && old.Status.Attempt != new.Status.Attempt
}

// runAppeared lets in a Run that a cache lists already ended: one that
// finished while its cluster was out of reach, or before a restart. A
// new Run is the engine's own doing; waking for it would only read a
// WorkflowRun older than the patch that records it, and conflict.
func runAppeared(run *krtv1.Run) bool { return run.Status.Phase.Terminal() }

func runChanged() predicate.Predicate {
	return predicate.Funcs{
		CreateFunc: func(e event.CreateEvent) bool {
			run, ok := e.Object.(*krtv1.Run)
			return !ok || runAppeared(run)
		},
		UpdateFunc: func(e event.UpdateEvent) bool {
			old, ok1 := e.ObjectOld.(*krtv1.Run)
			new, ok2 := e.ObjectNew.(*krtv1.Run)
			return !ok1 || !ok2 || runMoved(old, new)
		},
	}
}

func runChangedTyped() predicate.TypedPredicate[*krtv1.Run] {
	return predicate.TypedFuncs[*krtv1.Run]{
		CreateFunc: func(e event.TypedCreateEvent[*krtv1.Run]) bool { return runAppeared(e.Object) },
		UpdateFunc: func(e event.TypedUpdateEvent[*krtv1.Run]) bool {
			return runMoved(e.ObjectOld, e.ObjectNew)
		},
	}
}

// phaseChanged lets in a phase set by someone else, and the engine's own
// move to Pending, which asks the group again once the cache has it. The
// other writes of its own come back once, and find nothing to do.
func phaseChanged() predicate.Predicate {
	return predicate.Funcs{UpdateFunc: func(e event.UpdateEvent) bool {
		old, ok1 := e.ObjectOld.(*krtv1.WorkflowRun)
		new, ok2 := e.ObjectNew.(*krtv1.WorkflowRun)
		return !ok1 || !ok2 || old.Status.Phase != new.Status.Phase
	}}
}

// leftGroup passes a run that ended or went away while in a concurrency
// group: the runs queued behind it may go.
func leftGroup() predicate.Predicate {
	return predicate.Funcs{
		CreateFunc:  func(event.CreateEvent) bool { return false },
		GenericFunc: func(event.GenericEvent) bool { return false },
		DeleteFunc: func(e event.DeleteEvent) bool {
			wr, ok := e.Object.(*krtv1.WorkflowRun)
			return ok && wr.Spec.ConcurrencyGroup != ""
		},
		UpdateFunc: func(e event.UpdateEvent) bool {
			old, ok1 := e.ObjectOld.(*krtv1.WorkflowRun)
			new, ok2 := e.ObjectNew.(*krtv1.WorkflowRun)
			return ok1 && ok2 && new.Spec.ConcurrencyGroup != "" &&
				!old.Status.Phase.Terminal() && new.Status.Phase.Terminal()
		},
	}
}
