package runtime

import (
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	krtv1 "krt.dev/krt/api/v1alpha1"
)

func TestNeed(t *testing.T) {
	for _, tc := range []struct {
		name     string
		a        krtv1.RuntimeAutoscaling
		capacity int
		d        demand
		want     int
	}{
		{name: "idle", a: krtv1.RuntimeAutoscaling{MaxReplicas: 5}, capacity: 4, want: 0},
		{name: "one pending Run", a: krtv1.RuntimeAutoscaling{MaxReplicas: 5}, capacity: 4, d: demand{pending: 1}, want: 1},
		{name: "a full pod and one more", a: krtv1.RuntimeAutoscaling{MaxReplicas: 5}, capacity: 4, d: demand{inUse: 4, pending: 1}, want: 2},
		{name: "spare slots", a: krtv1.RuntimeAutoscaling{MaxReplicas: 5, SpareSlots: 2}, capacity: 4, d: demand{inUse: 3}, want: 2},
		{name: "utilisation", a: krtv1.RuntimeAutoscaling{MaxReplicas: 5, TargetUtilization: ptr.To[int32](50)}, capacity: 4, d: demand{inUse: 4}, want: 2},
		{name: "spare slots win over utilisation", a: krtv1.RuntimeAutoscaling{MaxReplicas: 5, SpareSlots: 8, TargetUtilization: ptr.To[int32](50)},
			capacity: 4, d: demand{inUse: 4}, want: 3},
		{name: "one Run a pod", a: krtv1.RuntimeAutoscaling{MaxReplicas: 5, SpareSlots: 1}, capacity: 1, d: demand{inUse: 2, pending: 3}, want: 6},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := need(&tc.a, tc.capacity, tc.d); got != tc.want {
				t.Errorf("need = %d, want %d", got, tc.want)
			}
		})
	}
}

// A shrinking pool drains the pods whose loss costs least: one that
// takes no Runs yet, a spent one, an idle one, and never a busy one
// while an idle one is left.
func TestVictims(t *testing.T) {
	at := func(s int) metav1.Time { return metav1.NewTime(time.Unix(int64(s), 0)) }
	pod := func(name string, created int, live, spent bool, runs int) *poolPod {
		return &poolPod{pod: &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name, CreationTimestamp: at(created)}},
			live: live, spent: spent, runs: runs}
	}
	pods := []*poolPod{
		pod("busy", 1, true, false, 3),
		pod("idle-old", 1, true, false, 0),
		pod("idle-new", 2, true, false, 0),
		pod("starting", 3, false, false, 0),
		pod("spent", 1, true, true, 1),
		pod("light", 1, true, false, 1),
	}
	var got []string
	for _, v := range victims(pods, 5) {
		got = append(got, v.pod.Name)
	}
	want := []string{"starting", "spent", "idle-new", "idle-old", "light"}
	if len(got) != len(want) {
		t.Fatalf("victims = %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("victims = %v, want %v", got, want)
		}
	}
	if v := victims(pods, 0); len(v) != 0 {
		t.Errorf("victims(0) = %d pods", len(v))
	}
}

// Scale-up is at once; scale-down waits out the window, as the largest
// recommendation within it holds the pool.
func TestStabilisation(t *testing.T) {
	h := &history{}
	t0 := time.Unix(1000, 0)
	window := 10 * time.Second
	steps := []struct {
		after    time.Duration
		raw, cur int
		want     int
	}{
		{0, 2, 0, 2},
		{time.Second, 8, 2, 8},
		{2 * time.Second, 1, 8, 8},
		{9 * time.Second, 0, 8, 8},
		{12 * time.Second, 0, 8, 0},
	}
	for _, s := range steps {
		if got := h.stabilised(s.raw, s.cur, t0.Add(s.after), window); got != s.want {
			t.Errorf("at %s with %d recommended: %d pods, want %d", s.after, s.raw, got, s.want)
		}
	}
	// A controller that restarts starts from the pool it finds.
	fresh := &history{}
	if got := fresh.stabilised(0, 5, t0, window); got != 5 {
		t.Errorf("first look at a pool of 5 that needs 0: %d, want 5", got)
	}
	if next := fresh.nextExpiry(0, window); !next.Equal(t0.Add(window)) {
		t.Errorf("next look at %s, want %s", next, t0.Add(window))
	}
}
