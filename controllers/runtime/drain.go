package runtime

import (
	"context"
	"fmt"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	krtv1 "krt.dev/krt/api/v1alpha1"
	"krt.dev/krt/controllers/index"
	"krt.dev/krt/controllers/pool"
	"krt.dev/krt/runtimed/heartbeat"
)

// ScaleOptions tune how pools grow and shrink.
type ScaleOptions struct {
	// ScaleDownStabilization is how long an autoscaled pool keeps the
	// largest size asked for before it shrinks; DefaultScaleDownStabilization
	// when zero.
	ScaleDownStabilization time.Duration
	// DrainSettle is how long a pod marked draining waits before it may
	// be removed, so that a Run the scheduler gave it just before it saw
	// the mark is seen; DefaultDrainSettle when zero.
	DrainSettle time.Duration
}

// Defaults for ScaleOptions.
const (
	DefaultScaleDownStabilization = 2 * time.Minute
	DefaultDrainSettle            = 2 * time.Second
)

// releasedCost is the deletion cost of a drained pod with no Run: the
// lowest of the pool, so the ReplicaSet removes it, not a busy pod.
const releasedCost = "-1000000"

// scalePlan is what the scaler decided for one reconcile.
type scalePlan struct {
	// replicas is the Deployment's: the pods that take Runs plus the
	// draining ones that still hold a Run or have not settled.
	replicas int32
	current  int32 // pods not being deleted
	desired  int32
	draining int32
	why      string
	// recheck is when the pool must be looked at again, zero for never.
	recheck time.Time
}

// scaler keeps the recommendations of each autoscaled Runtime.
type scaler struct {
	opts ScaleOptions
	mu   sync.Mutex
	hist map[types.NamespacedName]*history
}

func newScaler(opts ScaleOptions) *scaler {
	if opts.ScaleDownStabilization == 0 {
		opts.ScaleDownStabilization = DefaultScaleDownStabilization
	}
	if opts.DrainSettle == 0 {
		opts.DrainSettle = DefaultDrainSettle
	}
	return &scaler{opts: opts, hist: map[types.NamespacedName]*history{}}
}

// desired is how many pods should take Runs, and why.
func (s *scaler) desired(rt *krtv1.Runtime, d demand, active int, now time.Time) (int, string, time.Time) {
	a := rt.Spec.Autoscaling
	if a == nil {
		s.forget(client.ObjectKeyFromObject(rt))
		return int(rt.FixedReplicas()), "spec.replicas", time.Time{}
	}
	raw := min(max(need(a, int(rt.PodCapacity()), d), int(a.MinReplicas)), int(a.MaxReplicas))
	s.mu.Lock()
	defer s.mu.Unlock()
	key := client.ObjectKeyFromObject(rt)
	h := s.hist[key]
	if h == nil {
		h = &history{}
		s.hist[key] = h
	}
	n := h.stabilised(raw, active, now, s.opts.ScaleDownStabilization)
	why := fmt.Sprintf("%d Runs in slots, %d pending and %d spare slots need %d pods (min %d, max %d)",
		d.inUse, d.pending, a.SpareSlots, raw, a.MinReplicas, a.MaxReplicas)
	if n > raw {
		why += fmt.Sprintf("; keeping %d for the scale-down stabilisation window", n)
	}
	return n, why, h.nextExpiry(raw, s.opts.ScaleDownStabilization)
}

func (s *scaler) forget(key types.NamespacedName) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.hist, key)
}

// scale sizes the pool: it takes draining pods back when more are
// needed, drains the cheapest pods when fewer are, and releases drained
// pods that hold no Run. Pods leave only through the Deployment's
// replicas, never by a delete that the ReplicaSet would undo.
func (r *Reconciler) scale(ctx context.Context, rt *krtv1.Runtime) (*scalePlan, error) {
	now := time.Now()
	pods, d, err := r.observe(ctx, rt, now)
	if err != nil {
		return nil, err
	}
	var active, draining, released []*poolPod
	for _, p := range pods {
		switch {
		case p.released:
			released = append(released, p)
		case p.draining():
			draining = append(draining, p)
		default:
			active = append(active, p)
		}
	}
	want, why, recheck := r.scaler.desired(rt, d, len(active), now)
	// Growing: warm pods that were on their way out come back first.
	for _, p := range append(append([]*poolPod{}, draining...), released...) {
		if len(active) >= want {
			break
		}
		if err := r.markPod(ctx, p.pod, "", ""); err != nil {
			return nil, err
		}
		p.drainingSince, p.released = time.Time{}, false
		active = append(active, p)
	}
	draining, released = stillDraining(draining), stillDraining(released)
	for _, p := range victims(active, len(active)-want) {
		if err := r.markPod(ctx, p.pod, now.UTC().Format(time.RFC3339Nano), ""); err != nil {
			return nil, err
		}
		p.drainingSince = now
		draining = append(draining, p)
	}
	plan := &scalePlan{current: int32(len(pods)), desired: int32(want), why: why, recheck: recheck}
	unreleased := 0
	for _, p := range draining {
		ok, err := r.release(ctx, p, now)
		if err != nil {
			return nil, err
		}
		if !ok {
			unreleased++
			plan.recheck = earliest(plan.recheck, p.drainingSince.Add(r.scaler.opts.DrainSettle))
		}
	}
	plan.draining = int32(len(draining) + len(released))
	plan.replicas = int32(want + unreleased)
	return plan, nil
}

func stillDraining(pods []*poolPod) []*poolPod {
	var out []*poolPod
	for _, p := range pods {
		if p.draining() {
			out = append(out, p)
		}
	}
	return out
}

// release gives a drained pod the lowest deletion cost once it has
// settled and holds no Run, the API server agreeing with the cache.
func (r *Reconciler) release(ctx context.Context, p *poolPod, now time.Time) (bool, error) {
	if p.runs > 0 || now.Before(p.drainingSince.Add(r.scaler.opts.DrainSettle)) {
		return false, nil
	}
	live := &krtv1.RunList{}
	if err := r.api.List(ctx, live, client.InNamespace(p.pod.Namespace), client.MatchingFields{krtv1.FieldAssignedPod: p.pod.Name}); err != nil {
		return false, err
	}
	if holds(live.Items, p.pod) {
		return false, nil
	}
	if err := r.markPod(ctx, p.pod, p.pod.Annotations[krtv1.AnnotationDraining], releasedCost); err != nil {
		return false, err
	}
	p.released = true
	return true, nil
}

// markPod sets (or, given "", removes) a pod's draining mark and deletion
// cost, with a patch that fails if the pod was replaced meanwhile.
func (r *Reconciler) markPod(ctx context.Context, pod *corev1.Pod, drainingSince, cost string) error {
	if pod.Annotations[krtv1.AnnotationDraining] == drainingSince && pod.Annotations[krtv1.AnnotationPodDeletionCost] == cost {
		return nil
	}
	orig := pod.DeepCopy()
	if pod.Annotations == nil {
		pod.Annotations = map[string]string{}
	}
	for k, v := range map[string]string{krtv1.AnnotationDraining: drainingSince, krtv1.AnnotationPodDeletionCost: cost} {
		if v == "" {
			delete(pod.Annotations, k)
		} else {
			pod.Annotations[k] = v
		}
	}
	if err := r.client.Patch(ctx, pod, client.MergeFromWithOptions(orig, client.MergeFromWithOptimisticLock{})); err != nil {
		return fmt.Errorf("marking pod %s for scaling: %w", pod.Name, err)
	}
	return nil
}

// observe reads the pool from the cache: each pod not being deleted, and
// the Runs that hold or wait for a slot on pods that take new Runs.
func (r *Reconciler) observe(ctx context.Context, rt *krtv1.Runtime, now time.Time) ([]*poolPod, demand, error) {
	var d demand
	members, err := pool.Read(ctx, r.cache, rt.Namespace, rt.Name)
	if err != nil {
		return nil, d, err
	}
	var pods []*poolPod
	for _, m := range members {
		if m.Pod.DeletionTimestamp != nil {
			continue
		}
		// A copy: markPod writes its annotations into the pod it is given.
		p := &poolPod{pod: m.Pod.DeepCopy(), runs: m.Runs}
		if m.Lease != nil {
			p.live = heartbeat.PodReady(m.Pod) && heartbeat.Fresh(m.Lease, m.Pod.UID, now)
			p.spent = heartbeat.Spent(m.Lease)
		}
		if at := p.pod.Annotations[krtv1.AnnotationDraining]; at != "" {
			// An unreadable mark is still a mark: it drains from now.
			p.drainingSince = now
			if t, err := time.Parse(time.RFC3339Nano, at); err == nil {
				p.drainingSince = t
			}
			p.released = p.pod.Annotations[krtv1.AnnotationPodDeletionCost] == releasedCost
		} else {
			d.inUse += p.runs
		}
		pods = append(pods, p)
	}
	pending := &krtv1.RunList{}
	if err := r.cache.List(ctx, pending, client.InNamespace(rt.Namespace), client.MatchingFields{index.PendingRuntime: rt.Name}, client.UnsafeDisableDeepCopy); err != nil {
		return nil, d, err
	}
	d.pending = len(pending.Items)
	return pods, d, nil
}

func earliest(a, b time.Time) time.Time {
	if a.IsZero() || (!b.IsZero() && b.Before(a)) {
		return b
	}
	return a
}
