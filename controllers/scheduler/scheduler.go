// Package scheduler assigns Pending Runs to runtime pods that are Ready,
// hold a fresh heartbeat and have a free slot. It is event driven: a Run is
// looked at when it is created and when capacity for its runtime frees up,
// never on a fixed requeue.
package scheduler

import (
	"context"
	"fmt"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/log"
	ctrl "sigs.k8s.io/controller-runtime/pkg/reconcile"

	krtv1 "krt.dev/krt/api/v1alpha1"
	"krt.dev/krt/controllers/pool"
	"krt.dev/krt/runtimed/heartbeat"
)

// The scheduler's rights (make generate writes them into the ClusterRole
// krt-controller-scheduler): it reads Runs, Runtimes, runtime pods and
// their Leases, and writes only the assignment in a Run's status. Pods and
// Leases are cached only when labelled krt.dev/runtime.
//
// +kubebuilder:rbac:groups=krt.dev,resources=runs,verbs=get;list;watch
// +kubebuilder:rbac:groups=krt.dev,resources=runs/status,verbs=update
// +kubebuilder:rbac:groups=krt.dev,resources=runtimes,verbs=get;list;watch
// +kubebuilder:rbac:groups="",resources=pods,verbs=get;list;watch
// +kubebuilder:rbac:groups=coordination.k8s.io,resources=leases,verbs=get;list;watch

// Options configures a Scheduler.
type Options struct {
	// Workers schedule Runs in parallel.
	Workers int
	Filters []FilterPlugin
	Scores  []ScorePlugin
	// AssumeTTL drops a reservation the cache never confirmed.
	AssumeTTL time.Duration
}

// Scheduler is the Run scheduler.
type Scheduler struct {
	opts   Options
	cache  client.Reader // the manager's cache
	api    client.Reader // uncached, for conflicts
	writer client.Client
	queue  enqueuer

	assumed *assumeCache
	// pending are the Pending Runs by runtime, oldest first, for waking.
	pending *pendingSet
	// used are ephemeral pods given their one Run, until their Lease
	// says so: the Lease cache may lag behind the Run's.
	used *usedPods
	// pick and reserve happen under mu, so two workers never fill one slot.
	mu sync.Mutex
}

// Reconcile schedules one Run.
func (s *Scheduler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	run := &krtv1.Run{}
	if err := s.cache.Get(ctx, req.NamespacedName, run); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	if !run.Pending() || s.assumed.has(run.UID) {
		return ctrl.Result{}, nil
	}
	if wait := backoffLeft(run, time.Now()); wait > 0 {
		// A retried Run waits out its backoff on its own timer.
		return ctrl.Result{RequeueAfter: wait}, nil
	}
	ctx = log.IntoContext(ctx, log.FromContext(ctx).WithValues(run.LogValues()...))
	for try := 0; try < maxConflicts; try++ {
		done, err := s.scheduleOnce(ctx, run)
		if done || !apierrors.IsConflict(err) {
			return ctrl.Result{}, err
		}
		// Handled inline: a conflict means the Run changed (a cancel, say),
		// so read it again rather than wait in the rate-limited queue.
		run = &krtv1.Run{}
		if err := s.api.Get(ctx, req.NamespacedName, run); err != nil {
			return ctrl.Result{}, client.IgnoreNotFound(err)
		}
		if !run.Pending() {
			return ctrl.Result{}, nil
		}
	}
	return ctrl.Result{}, fmt.Errorf("run %s kept changing while it was scheduled", req.NamespacedName)
}

const maxConflicts = 5

// doneUnlessConflict lets Reconcile retry a conflict inline, with the Run
// read again, instead of through the rate-limited queue.
func doneUnlessConflict(err error) (bool, error) {
	return !apierrors.IsConflict(err), err
}

// scheduleOnce makes one attempt: cancel, wait with a reason, or assign.
func (s *Scheduler) scheduleOnce(ctx context.Context, run *krtv1.Run) (bool, error) {
	if run.Spec.CancelRequested {
		attempts.WithLabelValues("cancelled").Inc()
		r := run.StatusOnly()
		r.Finish(krtv1.RunCancelled, krtv1.ReasonCancelled, "cancelled while pending", time.Now())
		return doneUnlessConflict(s.writer.Status().Update(ctx, r))
	}
	rt := &krtv1.Runtime{}
	err := s.cache.Get(ctx, types.NamespacedName{Namespace: run.Namespace, Name: run.Spec.Runtime}, rt)
	if apierrors.IsNotFound(err) {
		attempts.WithLabelValues("unschedulable").Inc()
		return doneUnlessConflict(s.unschedulable(ctx, run, krtv1.ReasonRuntimeNotFound,
			fmt.Sprintf("runtime %q does not exist in namespace %q; the Run waits until it does", run.Spec.Runtime, run.Namespace)))
	}
	if err != nil {
		return true, err
	}
	if ok, why := rt.Admits(run); !ok {
		attempts.WithLabelValues("not_admitted").Inc()
		r := run.StatusOnly()
		r.Finish(krtv1.RunFailed, krtv1.ReasonNotAdmitted, why, time.Now())
		return doneUnlessConflict(s.writer.Status().Update(ctx, r))
	}
	pod, candidates, err := s.pickAndAssume(ctx, run, rt.Mode() == krtv1.IsolationEphemeral)
	if err != nil || pod == nil {
		if err == nil {
			attempts.WithLabelValues("no_capacity").Inc()
		}
		if err == nil && candidates == 0 {
			err = s.unschedulable(ctx, run, krtv1.ReasonNoCapacity,
				fmt.Sprintf("runtime %q has no ready pod with a fresh heartbeat", run.Spec.Runtime))
		}
		// Busy pods are not worth a write: the Run is woken when a slot frees.
		return doneUnlessConflict(err)
	}
	r := run.StatusOnly()
	r.Status.Phase = krtv1.RunScheduled
	r.Status.AssignedPod = pod.Name
	r.Status.AssignedPodUID = pod.UID
	r.Status.Attempt = max(r.Status.Attempt, 1)
	now := metav1.NewMicroTime(time.Now())
	r.Status.ScheduledTime, r.Status.NotBefore = &now, nil
	r.Status.ObservedGeneration = r.Generation
	apimeta.RemoveStatusCondition(&r.Status.Conditions, krtv1.ConditionScheduled)
	r.Status.Reason, r.Status.Message = "", ""
	if err := s.writer.Status().Update(ctx, r); err != nil {
		// The slot was never taken: someone else may want it now.
		s.assumed.forget(run.UID)
		s.used.remove(pod.UID)
		s.wake(ctx, "reservation_dropped", run.Namespace, run.Spec.Runtime)
		if apierrors.IsConflict(err) {
			attempts.WithLabelValues("conflict").Inc()
		}
		return false, err
	}
	attempts.WithLabelValues("scheduled").Inc()
	return true, nil
}

// pickAndAssume filters and scores the runtime's pods and reserves a slot
// on the best. It reports how many pods were Ready and fresh at all.
func (s *Scheduler) pickAndAssume(ctx context.Context, run *krtv1.Run, ephemeral bool) (*corev1.Pod, int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := time.Now()
	cands, err := s.candidates(ctx, run.Namespace, run.Spec.Runtime, now)
	if err != nil {
		return nil, 0, err
	}
	var best *Candidate
	var bestScore int64
	live := 0
	for _, c := range cands {
		if !s.passes(run, c, now, true) {
			continue
		}
		live++
		if c.Free() <= 0 {
			continue
		}
		score := s.score(run, c)
		if best == nil || score > bestScore || (score == bestScore && c.Pod.Name < best.Pod.Name) {
			best, bestScore = c, score
		}
	}
	if best == nil {
		return nil, live, nil
	}
	if ephemeral {
		s.used.add(best.Pod.UID, now)
	}
	s.assumed.assume(run.UID, reservation{
		name:    types.NamespacedName{Namespace: run.Namespace, Name: run.Name},
		runtime: run.Spec.Runtime,
		pod:     best.Pod.Name, attempt: max(run.Status.Attempt, 1), at: now,
	})
	return best.Pod, live, nil
}

// passes runs the filters; with skipCapacity it leaves the capacity check
// to the caller, so a full pod still counts as live.
func (s *Scheduler) passes(run *krtv1.Run, c *Candidate, now time.Time, skipCapacity bool) bool {
	for _, f := range s.opts.Filters {
		if skipCapacity && f.Name() == (hasCapacity{}).Name() {
			continue
		}
		if !f.Filter(run, c, now) {
			return false
		}
	}
	return true
}

func (s *Scheduler) score(run *krtv1.Run, c *Candidate) int64 {
	var total int64
	for _, p := range s.opts.Scores {
		total += p.Score(run, c)
	}
	return total
}

// candidates snapshots a runtime's pods with their heartbeat and usage,
// in a fixed number of cache reads (controllers/pool). Nothing read here
// is modified: the pods and Leases are the cache's own.
func (s *Scheduler) candidates(ctx context.Context, namespace, runtime string, now time.Time) ([]*Candidate, error) {
	// Reservations are read before the pool: the cache may move on between
	// the two reads, and in this order a Run caught in between is counted
	// twice, which is safe, never zero times.
	unconfirmed := s.unconfirmed(ctx, namespace, runtime, now)
	members, err := pool.Read(ctx, s.cache, namespace, runtime)
	if err != nil {
		return nil, err
	}
	out := make([]*Candidate, 0, len(members))
	for _, m := range members {
		c := &Candidate{Pod: m.Pod, Lease: m.Lease, Capacity: PodCapacity(m.Pod), Spent: s.used.has(m.Pod.UID, now)}
		c.Spent = c.Spent || m.Lease != nil && heartbeat.Spent(m.Lease)
		c.InUse = m.Runs + unconfirmed[m.Pod.Name]
		out = append(out, c)
	}
	return out, nil
}

// unconfirmed counts, by pod name, the reservations on a runtime's pods
// that the cache does not reflect yet.
func (s *Scheduler) unconfirmed(ctx context.Context, namespace, runtime string, now time.Time) map[string]int {
	n := map[string]int{}
	for _, r := range s.assumed.inRuntime(namespace, runtime, now) {
		cached := &krtv1.Run{}
		err := s.cache.Get(ctx, r.name, cached)
		confirmed := err == nil && cached.Status.AssignedPod == r.pod && cached.Status.Attempt == r.attempt &&
			cached.Status.Phase.HoldsCapacity()
		if !confirmed && !(err == nil && cached.Status.Phase.Terminal()) {
			n[r.pod]++
		}
	}
	return n
}

// unschedulable records why a Run waits, once: repeating the same reason
// costs no write.
func (s *Scheduler) unschedulable(ctx context.Context, run *krtv1.Run, reason, msg string) error {
	c := apimeta.FindStatusCondition(run.Status.Conditions, krtv1.ConditionScheduled)
	if c != nil && c.Reason == reason && c.Message == msg {
		return nil
	}
	log.FromContext(ctx).Info("run cannot be scheduled", "reason", reason)
	r := run.StatusOnly()
	r.Status.Phase = krtv1.RunPending
	r.Status.Reason, r.Status.Message = reason, msg
	apimeta.SetStatusCondition(&r.Status.Conditions, metav1.Condition{
		Type: krtv1.ConditionScheduled, Status: metav1.ConditionFalse, Reason: reason, Message: msg,
		ObservedGeneration: r.Generation,
	})
	return s.writer.Status().Update(ctx, r)
}

// backoffLeft is how long a retried Run must still wait; a cancel request
// does not wait.
func backoffLeft(run *krtv1.Run, now time.Time) time.Duration {
	if run.Spec.CancelRequested || run.Status.NotBefore == nil {
		return 0
	}
	return run.Status.NotBefore.Sub(now)
}
