package scheduler

import (
	"fmt"
	"slices"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	krtv1 "krt.dev/krt/api/v1alpha1"
)

func pendingRunAt(name, runtime string, created time.Time) *krtv1.Run {
	return &krtv1.Run{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "ns", UID: types.UID("uid-" + name),
			CreationTimestamp: metav1.NewTime(created)},
		Spec: krtv1.RunSpec{Runtime: runtime},
	}
}

func names(ns []types.NamespacedName) []string {
	var out []string
	for _, n := range ns {
		out = append(out, n.Name)
	}
	return out
}

func none(types.UID) bool { return false }

func TestPendingSetWakesOldestFirstPerRuntime(t *testing.T) {
	p := newPendingSet()
	t0 := time.Now().Truncate(time.Second)
	// Out of order, two in the same second, and one of another runtime.
	for _, r := range []*krtv1.Run{
		pendingRunAt("c", "rt", t0.Add(2*time.Second)),
		pendingRunAt("b2", "rt", t0.Add(time.Second)),
		pendingRunAt("a", "rt", t0),
		pendingRunAt("b1", "rt", t0.Add(time.Second)),
		pendingRunAt("other", "rt2", t0.Add(-time.Hour)),
	} {
		p.observe(r)
	}
	now := time.Now()
	if got := names(p.oldest("ns", "rt", 3, now, none)); !slices.Equal(got, []string{"a", "b1", "b2"}) {
		t.Errorf("oldest 3 = %v", got)
	}
	if got := names(p.oldest("ns", "rt", -1, now, none)); !slices.Equal(got, []string{"a", "b1", "b2", "c"}) {
		t.Errorf("all = %v", got)
	}
	if p.waiting("ns", "rt") != 4 || p.waiting("ns", "rt2") != 1 || p.waiting("other", "rt") != 0 {
		t.Errorf("waiting = %d, %d, %d", p.waiting("ns", "rt"), p.waiting("ns", "rt2"), p.waiting("other", "rt"))
	}
}

func TestPendingSetFollowsPhaseAndDeletes(t *testing.T) {
	p := newPendingSet()
	t0 := time.Now()
	a, b := pendingRunAt("a", "rt", t0), pendingRunAt("b", "rt", t0.Add(time.Second))
	p.observe(a)
	p.observe(b)
	a.Status.Phase = krtv1.RunScheduled
	p.observe(a) // scheduled: out
	p.observe(a) // an update seen twice changes nothing
	if got := names(p.oldest("ns", "rt", -1, time.Now(), none)); !slices.Equal(got, []string{"b"}) {
		t.Errorf("after a was scheduled: %v", got)
	}
	a.Status.Phase = krtv1.RunPending // a retry puts it back, in its place
	p.observe(a)
	p.remove(b.UID)
	p.remove(b.UID)
	if got := names(p.oldest("ns", "rt", -1, time.Now(), none)); !slices.Equal(got, []string{"a"}) {
		t.Errorf("after b was deleted: %v", got)
	}
	p.remove(a.UID)
	if p.waiting("ns", "rt") != 0 || len(p.queues) != 0 || len(p.byUID) != 0 {
		t.Errorf("an empty set keeps %d queues and %d Runs", len(p.queues), len(p.byUID))
	}
}

// Reserved Runs and Runs in backoff are skipped, and do not use up the
// count asked for; a cancel does not wait out a backoff.
func TestPendingSetSkipsReservedAndBackoff(t *testing.T) {
	p := newPendingSet()
	t0 := time.Now().Add(-time.Minute)
	later := metav1.NewMicroTime(time.Now().Add(time.Hour))
	for i := range 6 {
		r := pendingRunAt(fmt.Sprint("r", i), "rt", t0.Add(time.Duration(i)*time.Second))
		switch i {
		case 1, 2:
			r.Status.NotBefore = &later
		case 3:
			r.Status.NotBefore, r.Spec.CancelRequested = &later, true
		}
		p.observe(r)
	}
	reserved := func(uid types.UID) bool { return uid == "uid-r0" }
	if got := names(p.oldest("ns", "rt", 2, time.Now(), reserved)); !slices.Equal(got, []string{"r3", "r4"}) {
		t.Errorf("oldest 2 = %v, want r3 (cancelled) and r4", got)
	}
	if got := names(p.oldest("ns", "rt", 2, later.Add(time.Second), reserved)); !slices.Equal(got, []string{"r1", "r2"}) {
		t.Errorf("once the backoff is over, oldest 2 = %v", got)
	}
}

// Waking costs the same with 10 or 10,000 Runs waiting.
func BenchmarkPendingSetWake(b *testing.B) {
	for _, n := range []int{10, 10000} {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			p := newPendingSet()
			t0 := time.Now()
			for i := range n {
				p.observe(pendingRunAt(fmt.Sprint("r", i), "rt", t0.Add(time.Duration(i)*time.Millisecond)))
			}
			now := time.Now()
			for b.Loop() {
				p.oldest("ns", "rt", 40, now, none)
			}
		})
	}
}
