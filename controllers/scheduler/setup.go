package scheduler

import (
	"context"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/util/workqueue"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	krtv1 "krt.dev/krt/api/v1alpha1"
	"krt.dev/krt/runtimed/heartbeat"
)

const (
	// wakeMargin wakes a few more Runs than there are free slots, so one
	// that turns out not to need a slot does not strand the slot.
	wakeMargin = 8
)

type enqueuer interface {
	Add(reconcile.Request)
}

// queueRef lets wake enqueue from handlers and from Reconcile alike.
type queueRef struct {
	q workqueue.TypedRateLimitingInterface[reconcile.Request]
}

func (r *queueRef) Add(req reconcile.Request) {
	if r.q != nil {
		r.q.Add(req)
	}
}

// SetupWithManager registers the scheduler's watches. The manager's cache
// must have the index package's indexes.
func SetupWithManager(ctx context.Context, mgr ctrl.Manager, opts Options) error {
	if opts.Workers == 0 {
		opts.Workers = 4
	}
	if opts.Filters == nil {
		opts.Filters = DefaultFilters()
	}
	if opts.Scores == nil {
		opts.Scores = DefaultScores()
	}
	if opts.AssumeTTL == 0 {
		opts.AssumeTTL = 30 * time.Second
	}
	ref := &queueRef{}
	s := &Scheduler{
		opts: opts, cache: mgr.GetCache(), api: mgr.GetAPIReader(), writer: client.WithFieldOwner(mgr.GetClient(), krtv1.RunStatusFieldManager),
		queue: ref, assumed: newAssumeCache(opts.AssumeTTL), used: newUsedPods(), pending: newPendingSet(),
	}
	return ctrl.NewControllerManagedBy(mgr).
		Named("scheduler").
		WithOptions(controller.Options{MaxConcurrentReconciles: opts.Workers, NewQueue: func(name string, rl workqueue.TypedRateLimiter[reconcile.Request]) workqueue.TypedRateLimitingInterface[reconcile.Request] {
			ref.q = workqueue.NewTypedRateLimitingQueueWithConfig(rl, workqueue.TypedRateLimitingQueueConfig[reconcile.Request]{Name: name})
			return ref.q
		}}).
		Watches(&krtv1.Run{}, runHandler{s}).
		Watches(&corev1.Pod{}, podHandler{s}).
		Watches(&coordinationv1.Lease{}, leaseHandler{s}).
		Watches(&krtv1.Runtime{}, runtimeHandler{s}).
		Complete(s)
}

// wake enqueues the oldest Pending Runs of a runtime, as many as there are
// free slots (plus a margin), instead of every Pending Run on each change.
func (s *Scheduler) wake(ctx context.Context, cause, namespace, runtime string) {
	s.wakeN(ctx, cause, namespace, runtime, false)
}

func (s *Scheduler) wakeN(ctx context.Context, cause, namespace, runtime string, all bool) {
	wakeups.WithLabelValues(cause).Inc()
	if s.pending.waiting(namespace, runtime) == 0 {
		return
	}
	n := -1
	now := time.Now()
	if !all {
		free := 0
		if cands, err := s.candidates(ctx, namespace, runtime, now); err == nil {
			for _, c := range cands {
				if s.passes(nil, c, now, true) && c.Free() > 0 {
					free += c.Free()
				}
			}
		}
		n = free + wakeMargin
	}
	for _, name := range s.pending.oldest(namespace, runtime, n, now, s.assumed.has) {
		s.queue.Add(reconcile.Request{NamespacedName: name})
	}
}

var (
	_ handler.EventHandler = runHandler{}
	_ handler.EventHandler = podHandler{}
	_ handler.EventHandler = leaseHandler{}
	_ handler.EventHandler = runtimeHandler{}
)

type runHandler struct{ s *Scheduler }

func (h runHandler) Create(ctx context.Context, e event.CreateEvent, q workqueue.TypedRateLimitingInterface[reconcile.Request]) {
	r := e.Object.(*krtv1.Run)
	h.s.pending.observe(r)
	if r.Pending() {
		q.Add(requestFor(r))
	}
}

func (h runHandler) Update(ctx context.Context, e event.UpdateEvent, q workqueue.TypedRateLimitingInterface[reconcile.Request]) {
	old, r := e.ObjectOld.(*krtv1.Run), e.ObjectNew.(*krtv1.Run)
	if old.UID != r.UID {
		// Deleted and made again under its name while the watch was
		// down: a relist shows that as one update.
		h.s.pending.remove(old.UID)
	}
	// Before the wake below, which must not find this Run if it ended.
	h.s.pending.observe(r)
	if r.Status.AssignedPod != "" || r.Status.Phase.Terminal() {
		h.s.assumed.forget(r.UID)
	}
	if r.Pending() {
		q.Add(requestFor(r))
	}
	if old.Status.Phase.HoldsCapacity() && !r.Status.Phase.HoldsCapacity() {
		h.s.wake(ctx, "run_finished", r.Namespace, r.Spec.Runtime)
	}
}

func (h runHandler) Delete(ctx context.Context, e event.DeleteEvent, _ workqueue.TypedRateLimitingInterface[reconcile.Request]) {
	r, ok := e.Object.(*krtv1.Run)
	if !ok {
		return
	}
	h.s.pending.remove(r.UID)
	_, reserved := h.s.assumed.forget(r.UID)
	if reserved || r.Status.Phase.HoldsCapacity() {
		h.s.wake(ctx, "run_finished", r.Namespace, r.Spec.Runtime)
	}
}

func (runHandler) Generic(context.Context, event.GenericEvent, workqueue.TypedRateLimitingInterface[reconcile.Request]) {
}

func requestFor(o client.Object) reconcile.Request {
	return reconcile.Request{NamespacedName: client.ObjectKeyFromObject(o)}
}

// podHandler wakes a runtime's Pending Runs when one of its pods becomes
// Ready; nothing else about a pod matters here.
type podHandler struct{ s *Scheduler }

func (h podHandler) Create(ctx context.Context, e event.CreateEvent, _ workqueue.TypedRateLimitingInterface[reconcile.Request]) {
	h.maybeWake(ctx, nil, e.Object.(*corev1.Pod))
}

func (h podHandler) Update(ctx context.Context, e event.UpdateEvent, _ workqueue.TypedRateLimitingInterface[reconcile.Request]) {
	h.maybeWake(ctx, e.ObjectOld.(*corev1.Pod), e.ObjectNew.(*corev1.Pod))
}

func (podHandler) Delete(context.Context, event.DeleteEvent, workqueue.TypedRateLimitingInterface[reconcile.Request]) {
}

func (podHandler) Generic(context.Context, event.GenericEvent, workqueue.TypedRateLimitingInterface[reconcile.Request]) {
}

func (h podHandler) maybeWake(ctx context.Context, old, p *corev1.Pod) {
	rt := p.Labels[krtv1.LabelRuntime]
	// A pod taken back from draining is new room too.
	undrained := old != nil && Draining(old) && !Draining(p)
	if rt == "" || !heartbeat.PodReady(p) || (old != nil && heartbeat.PodReady(old) && !undrained) {
		return
	}
	h.s.wake(ctx, "pod_ready", p.Namespace, rt)
}

// leaseHandler wakes Pending Runs only when a pod's heartbeat turns fresh
// after being absent or stale. A routine renewal wakes nothing.
type leaseHandler struct{ s *Scheduler }

func (h leaseHandler) Create(ctx context.Context, e event.CreateEvent, _ workqueue.TypedRateLimitingInterface[reconcile.Request]) {
	h.maybeWake(ctx, nil, e.Object.(*coordinationv1.Lease))
}

func (h leaseHandler) Update(ctx context.Context, e event.UpdateEvent, _ workqueue.TypedRateLimitingInterface[reconcile.Request]) {
	h.maybeWake(ctx, e.ObjectOld.(*coordinationv1.Lease), e.ObjectNew.(*coordinationv1.Lease))
}

func (leaseHandler) Delete(context.Context, event.DeleteEvent, workqueue.TypedRateLimitingInterface[reconcile.Request]) {
}

func (leaseHandler) Generic(context.Context, event.GenericEvent, workqueue.TypedRateLimitingInterface[reconcile.Request]) {
}

func (h leaseHandler) maybeWake(ctx context.Context, old, l *coordinationv1.Lease) {
	rt := l.Labels[krtv1.LabelRuntime]
	if rt == "" || l.Spec.RenewTime == nil || l.Spec.HolderIdentity == nil {
		return
	}
	if old != nil && old.Spec.HolderIdentity != nil && *old.Spec.HolderIdentity == *l.Spec.HolderIdentity &&
		heartbeat.Fresh(old, types.UID(*old.Spec.HolderIdentity), l.Spec.RenewTime.Time) {
		return // a renewal of a lease that was still fresh
	}
	h.s.wake(ctx, "lease_fresh", l.Namespace, rt)
}

// runtimeHandler wakes Runs that waited for their Runtime to exist.
type runtimeHandler struct{ s *Scheduler }

func (h runtimeHandler) Create(ctx context.Context, e event.CreateEvent, _ workqueue.TypedRateLimitingInterface[reconcile.Request]) {
	// Rare, and every waiting Run's condition should change: wake them all.
	h.s.wakeN(ctx, "runtime_created", e.Object.GetNamespace(), e.Object.GetName(), true)
}

func (runtimeHandler) Update(context.Context, event.UpdateEvent, workqueue.TypedRateLimitingInterface[reconcile.Request]) {
}

func (runtimeHandler) Delete(context.Context, event.DeleteEvent, workqueue.TypedRateLimitingInterface[reconcile.Request]) {
}

func (runtimeHandler) Generic(context.Context, event.GenericEvent, workqueue.TypedRateLimitingInterface[reconcile.Request]) {
}
