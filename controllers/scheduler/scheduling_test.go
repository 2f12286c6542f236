package scheduler

import (
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"sigs.k8s.io/controller-runtime/pkg/client"

	krtv1 "krt.dev/krt/api/v1alpha1"
)

func TestOnlyReadyFreshPodsGetRuns(t *testing.T) {
	ns, _ := fixture(t,
		podSpec{name: "good", capacity: 3, ready: true, lease: 0},
		podSpec{name: "stale", capacity: 3, ready: true, lease: time.Minute},
		podSpec{name: "unready", capacity: 3, ready: false, lease: 0},
		podSpec{name: "silent", capacity: 3, ready: true, lease: -1},
		podSpec{name: "zero", capacity: 0, ready: true, lease: 0},
	)
	newRuns(t, ns, 4)
	got := assignments(t, ns, 3)
	if got["good"] != 3 || len(got) != 1 {
		t.Fatalf("assignments = %v, want all 3 on the one ready, fresh pod with room", got)
	}
	settled(t, ns, 3) // the fourth waits: no write, no condition
}

func TestLeastLoadedSpreadsRuns(t *testing.T) {
	ns, _ := fixture(t,
		podSpec{name: "a", capacity: 4, ready: true},
		podSpec{name: "b", capacity: 4, ready: true},
	)
	newRuns(t, ns, 6)
	got := assignments(t, ns, 6)
	if got["a"] != 3 || got["b"] != 3 {
		t.Fatalf("assignments = %v, want 3 and 3", got)
	}
}

func TestFreedCapacityWakesPendingRuns(t *testing.T) {
	ns, _ := fixture(t, podSpec{name: "only", capacity: 2, ready: true})
	runs := newRuns(t, ns, 3)
	assignments(t, ns, 2)
	settled(t, ns, 2)
	// Play runtimed: finish one of the scheduled Runs.
	finishOne(t, ns)
	assignments(t, ns, 2) // the third took the freed slot
	for _, r := range runs {
		cur := &krtv1.Run{}
		must(t, env.Client.Get(ctx, client.ObjectKeyFromObject(r), cur))
		if cur.Pending() {
			t.Fatalf("run %s is still Pending after a slot freed", r.Name)
		}
	}
}

func TestHeartbeatNeverWakesPendingRuns(t *testing.T) {
	ns, pods := fixture(t, podSpec{name: "full", capacity: 1, ready: true})
	newRuns(t, ns, 2)
	settled(t, ns, 1)
	woken := testutil.ToFloat64(wakeups.WithLabelValues("lease_fresh"))
	tried := testutil.ToFloat64(attempts.WithLabelValues("no_capacity"))
	for range 3 {
		renew(t, pods["full"])
	}
	settled(t, ns, 1)
	if w := testutil.ToFloat64(wakeups.WithLabelValues("lease_fresh")); w != woken {
		t.Errorf("renewals of a fresh Lease woke Pending Runs %v times", w-woken)
	}
	if a := testutil.ToFloat64(attempts.WithLabelValues("no_capacity")); a != tried {
		t.Errorf("renewals caused %v scheduling attempts", a-tried)
	}
}

func TestLeaseTurningFreshWakesPendingRuns(t *testing.T) {
	ns, pods := fixture(t, podSpec{name: "late", capacity: 1, ready: true, lease: time.Minute})
	newRuns(t, ns, 1)
	settled(t, ns, 0)
	renew(t, pods["late"])
	assignments(t, ns, 1)
}

func TestPodTurningReadyWakesPendingRuns(t *testing.T) {
	ns, pods := fixture(t, podSpec{name: "booting", capacity: 1, ready: false})
	newRuns(t, ns, 1)
	settled(t, ns, 0)
	setReady(t, pods["booting"], true)
	assignments(t, ns, 1)
}

// A pod the Runtime controller drains gets no new Run, however free; taken
// back, it wakes the Runs that waited.
func TestDrainingPodGetsNoRuns(t *testing.T) {
	ns, pods := fixture(t,
		podSpec{name: "draining", capacity: 4, ready: false},
		podSpec{name: "staying", capacity: 1, ready: true},
	)
	mark := func(value string) {
		p := pods["draining"]
		must(t, env.Client.Get(ctx, client.ObjectKeyFromObject(p), p))
		orig := p.DeepCopy()
		if value == "" {
			delete(p.Annotations, krtv1.AnnotationDraining)
		} else {
			p.Annotations[krtv1.AnnotationDraining] = value
		}
		must(t, env.Client.Patch(ctx, p, client.MergeFrom(orig)))
	}
	// Marked before it turns Ready, so the scheduler sees the mark first.
	mark(time.Now().UTC().Format(time.RFC3339Nano))
	setReady(t, pods["draining"], true)
	newRuns(t, ns, 3)
	if got := assignments(t, ns, 1); got["staying"] != 1 || len(got) != 1 {
		t.Fatalf("assignments = %v, want 1 on the pod that is not draining", got)
	}
	settled(t, ns, 1)
	mark("")
	if got := assignments(t, ns, 3); got["draining"] != 2 {
		t.Fatalf("assignments = %v, want the 2 that waited on the pod taken back", got)
	}
}

func finishOne(t *testing.T, ns string) {
	t.Helper()
	list := &krtv1.RunList{}
	must(t, env.Client.List(ctx, list, client.InNamespace(ns)))
	for _, r := range list.Items {
		if r.Status.Phase == krtv1.RunScheduled {
			r.Finish(krtv1.RunSucceeded, krtv1.ReasonSucceeded, "", time.Now())
			must(t, env.Client.Status().Update(ctx, &r))
			return
		}
	}
	t.Fatal("no Scheduled Run to finish")
}

func TestWorkersNeverOverfillThePool(t *testing.T) {
	ns, _ := fixture(t,
		podSpec{name: "a", capacity: 2, ready: true},
		podSpec{name: "b", capacity: 2, ready: true},
		podSpec{name: "c", capacity: 2, ready: true},
	)
	newRuns(t, ns, 40) // four workers race for six slots
	settled(t, ns, 6)
	got := assignments(t, ns, 6)
	for pod, n := range got {
		if n > 2 {
			t.Errorf("pod %s got %d Runs; its capacity is 2", pod, n)
		}
	}
}
