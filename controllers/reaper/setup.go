package reaper

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/util/workqueue"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	ctrlmetrics "sigs.k8s.io/controller-runtime/pkg/metrics"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	krtv1 "krt.dev/krt/api/v1alpha1"
)

var reaped = prometheus.NewCounterVec(prometheus.CounterOpts{
	Name: "krt_reaper_reaped_total",
	Help: "Run attempts taken from their pod, by reason: PodGone, PodReplaced, HeartbeatLost or NotClaimed.",
}, []string{"reason"})

func init() {
	ctrlmetrics.Registry.MustRegister(reaped)
}

// SetupWithManager registers the reaper. The manager's cache must have the
// index package's indexes.
func SetupWithManager(mgr ctrl.Manager, opts Options) error {
	if opts.ClaimTimeout == 0 {
		opts.ClaimTimeout = time.Minute
	}
	r := &Reaper{
		opts: opts, cache: mgr.GetCache(), writer: client.WithFieldOwner(mgr.GetClient(), krtv1.RunStatusFieldManager),
		recorder: mgr.GetEventRecorderFor("krt-reaper"), now: time.Now,
	}
	runtimePods := builder.WithPredicates(predicate.NewPredicateFuncs(func(o client.Object) bool {
		return o.GetLabels()[krtv1.LabelRuntime] != ""
	}))
	return ctrl.NewControllerManagedBy(mgr).
		Named("reaper").
		Watches(&corev1.Pod{}, &handler.EnqueueRequestForObject{}, runtimePods).
		Watches(&coordinationv1.Lease{}, &handler.EnqueueRequestForObject{}, runtimePods).
		Watches(&krtv1.Run{}, handler.Funcs{CreateFunc: runCreated, UpdateFunc: runAssigned}).
		Complete(r)
}

// A Run matters to the reaper when it lands on a pod: that starts the
// pod's timer. Later changes to the Run do not.
func runCreated(_ context.Context, e event.TypedCreateEvent[client.Object], q workqueueOf) {
	enqueuePod(e.Object.(*krtv1.Run), q)
}

func runAssigned(_ context.Context, e event.TypedUpdateEvent[client.Object], q workqueueOf) {
	old, r := e.ObjectOld.(*krtv1.Run), e.ObjectNew.(*krtv1.Run)
	if old.Status.AssignedPod != r.Status.AssignedPod || old.Status.Phase != r.Status.Phase {
		enqueuePod(r, q)
	}
}

func enqueuePod(r *krtv1.Run, q workqueueOf) {
	if r.Status.Phase.HoldsCapacity() && r.Status.AssignedPod != "" {
		q.Add(reconcile.Request{NamespacedName: types.NamespacedName{Namespace: r.Namespace, Name: r.Status.AssignedPod}})
	}
}

type workqueueOf = workqueue.TypedRateLimitingInterface[reconcile.Request]
