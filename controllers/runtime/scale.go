package runtime

import (
	"cmp"
	"slices"
	"time"

	corev1 "k8s.io/api/core/v1"

	krtv1 "krt.dev/krt/api/v1alpha1"
)

// poolPod is one pod of a Runtime as the scaler sees it.
type poolPod struct {
	pod *corev1.Pod
	// live is Ready with a fresh heartbeat: it can take Runs.
	live bool
	// runs hold a slot on the pod.
	runs  int
	spent bool
	// drainingSince is when the pod was marked draining; zero if not.
	drainingSince time.Time
	// released is a drained pod with no Run, given the lowest deletion
	// cost: the Deployment's replicas no longer count it.
	released bool
}

func (p *poolPod) draining() bool { return !p.drainingSince.IsZero() }

// demand is what the pool must serve: Runs holding a slot and Runs waiting
// for one.
type demand struct {
	inUse, pending int
}

// need is the number of pods autoscaling asks for, before its bounds:
// room for every Run holding or waiting for a slot plus the spare slots,
// at no more than the target utilisation.
func need(a *krtv1.RuntimeAutoscaling, podCapacity int, d demand) int {
	if podCapacity < 1 {
		podCapacity = 1
	}
	busy := d.inUse + d.pending
	n := ceilDiv(busy+int(a.SpareSlots), podCapacity)
	if a.TargetUtilization != nil {
		n = max(n, ceilDiv(busy*100, int(*a.TargetUtilization)*podCapacity))
	}
	return n
}

func ceilDiv(a, b int) int { return (a + b - 1) / b }

// boundedNeed clamps need to the autoscaling bounds; maxReplicas counts the
// draining pods that still stand, so the pool never holds more than it.
func boundedNeed(a *krtv1.RuntimeAutoscaling, n, draining int) int {
	return max(0, min(max(n, int(a.MinReplicas)), int(a.MaxReplicas)-draining))
}

// victims picks the n pods to drain, cheapest to lose first: pods that
// take no Runs yet (starting, or without a heartbeat), spent ephemeral
// pods, then the least busy, then the newest.
func victims(active []*poolPod, n int) []*poolPod {
	if n <= 0 {
		return nil
	}
	sorted := slices.Clone(active)
	slices.SortStableFunc(sorted, func(a, b *poolPod) int {
		if a.live != b.live {
			return boolFirst(!a.live)
		}
		if a.spent != b.spent {
			return boolFirst(a.spent)
		}
		if c := cmp.Compare(a.runs, b.runs); c != 0 {
			return c
		}
		if c := b.pod.CreationTimestamp.Compare(a.pod.CreationTimestamp.Time); c != 0 {
			return c
		}
		return cmp.Compare(b.pod.Name, a.pod.Name)
	})
	return sorted[:min(n, len(sorted))]
}

func boolFirst(first bool) int {
	if first {
		return -1
	}
	return 1
}

// history keeps a Runtime's recent recommendations, so that the pool
// shrinks only to the largest of them within the stabilisation window,
// as an HPA's scale-down does: a lull between bursts keeps its pods.
type history struct {
	recs []recommendation
}

type recommendation struct {
	at time.Time
	n  int
}

// stabilised records n and returns the largest recommendation within the
// window. A Runtime seen for the first time starts from its current size,
// so a restarted controller does not shrink the pool at once.
func (h *history) stabilised(n, current int, now time.Time, window time.Duration) int {
	if len(h.recs) == 0 && current > n {
		h.recs = append(h.recs, recommendation{at: now, n: current})
	}
	keep := h.recs[:0]
	for _, r := range h.recs {
		if now.Sub(r.at) < window {
			keep = append(keep, r)
		}
	}
	h.recs = append(keep, recommendation{at: now, n: n})
	best := n
	for _, r := range h.recs {
		best = max(best, r.n)
	}
	return best
}

// nextExpiry is when the oldest recommendation above n leaves the window,
// so that the pool is looked at again then; zero if none is above n.
func (h *history) nextExpiry(n int, window time.Duration) time.Time {
	var next time.Time
	for _, r := range h.recs {
		if r.n > n && (next.IsZero() || r.at.Before(next)) {
			next = r.at
		}
	}
	if next.IsZero() {
		return next
	}
	return next.Add(window)
}
