package metrics

import (
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"

	"krt.dev/krt/api/scheme"
	krtv1 "krt.dev/krt/api/v1alpha1"
)

var t0 = time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)

func runAt(phase krtv1.RunPhase, scheduled, started, completed time.Duration) *krtv1.Run {
	r := &krtv1.Run{ObjectMeta: metav1.ObjectMeta{Name: "r", Namespace: "ns", CreationTimestamp: metav1.NewTime(t0)},
		Spec: krtv1.RunSpec{Runtime: "bash"}, Status: krtv1.RunStatus{Phase: phase}}
	if scheduled > 0 {
		r.Status.ScheduledTime = &metav1.MicroTime{Time: t0.Add(scheduled)}
	}
	if started > 0 {
		r.Status.StartTime = &metav1.Time{Time: t0.Add(started)}
	}
	if completed > 0 {
		r.Status.CompletionTime = &metav1.Time{Time: t0.Add(completed)}
	}
	return r
}

// TestObserveRun: each transition an update passes is observed once, a
// skipped phase from the status times, the last one when it is seen, and
// a retry's step back is not observed.
func TestObserveRun(t *testing.T) {
	cases := []struct {
		name     string
		old, cur *krtv1.Run
		seen     time.Duration
		want     map[string]float64 // transition: sum of seconds
	}{
		{"scheduled", runAt(krtv1.RunPending, 0, 0, 0), runAt(krtv1.RunScheduled, 2*time.Second, 0, 0), 3 * time.Second,
			map[string]float64{"pending_to_scheduled": 3}},
		{"running", runAt(krtv1.RunScheduled, time.Second, 0, 0), runAt(krtv1.RunRunning, time.Second, 2*time.Second, 0), 1500 * time.Millisecond,
			map[string]float64{"scheduled_to_running": 0.5}},
		{"pending to finished at once", runAt(krtv1.RunPending, 0, 0, 0), runAt(krtv1.RunSucceeded, time.Second, 3*time.Second, 10*time.Second), 11 * time.Second,
			map[string]float64{"pending_to_scheduled": 1, "scheduled_to_running": 2, "running_to_finished": 8}},
		{"retried", runAt(krtv1.RunRunning, time.Second, 2*time.Second, 0), runAt(krtv1.RunPending, 0, 0, 0), 5 * time.Second,
			map[string]float64{}},
		{"no change", runAt(krtv1.RunRunning, time.Second, 2*time.Second, 0), runAt(krtv1.RunRunning, time.Second, 2*time.Second, 0), 5 * time.Second,
			map[string]float64{}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			runTransition.Reset()
			observeRun(tc.old, tc.cur, t0.Add(tc.seen))
			for _, tr := range []string{"pending_to_scheduled", "scheduled_to_running", "running_to_finished"} {
				got := histogramSum(t, runTransition.WithLabelValues("ns", "bash", tr))
				if got != tc.want[tr] {
					t.Errorf("%s = %g s, want %g", tr, got, tc.want[tr])
				}
			}
		})
	}
}

func histogramSum(t *testing.T, o prometheus.Observer) float64 {
	t.Helper()
	m := &dtoMetric{}
	if err := o.(prometheus.Metric).Write(&m.Metric); err != nil {
		t.Fatal(err)
	}
	return m.Histogram.GetSampleSum()
}

// TestCollector: only the leader reports, counting from the cache, with
// made-up runtimes under one label.
func TestCollector(t *testing.T) {
	objs := []*krtv1.Run{runAt(krtv1.RunPending, 0, 0, 0), runAt(krtv1.RunRunning, time.Second, 2*time.Second, 0)}
	objs[0].Name, objs[1].Name = "a", "b"
	stray := runAt(krtv1.RunPending, 0, 0, 0)
	stray.Name, stray.Spec.Runtime = "c", "no-such-runtime"
	rt := &krtv1.Runtime{ObjectMeta: metav1.ObjectMeta{Name: "bash", Namespace: "ns"},
		Status: krtv1.RuntimeStatus{ReadyPods: 1, Capacity: 4, InUse: 1, Pending: 1}}
	c := fake.NewClientBuilder().WithScheme(scheme.New()).WithObjects(objs[0], objs[1], stray, rt).Build()
	elected := make(chan struct{})
	col := &collector{cache: c, kinds: Kinds{Runs: true}, elected: elected, now: func() time.Time { return t0.Add(time.Minute) }}
	if n := testutil.CollectAndCount(col); n != 0 {
		t.Fatalf("a standby reported %d metrics, want none", n)
	}
	close(elected)
	want := `
# HELP krt_run_oldest_pending_seconds Age of the oldest Pending Run of a runtime (since it was created or its retry became due); 0 with none.
# TYPE krt_run_oldest_pending_seconds gauge
krt_run_oldest_pending_seconds{namespace="ns",runtime="(unknown)"} 60
krt_run_oldest_pending_seconds{namespace="ns",runtime="bash"} 60
# HELP krt_runtime_slots Run slots of a Runtime, by state: capacity (across ready pods), in_use, and pending (Runs waiting for one).
# TYPE krt_runtime_slots gauge
krt_runtime_slots{namespace="ns",runtime="bash",state="capacity"} 4
krt_runtime_slots{namespace="ns",runtime="bash",state="in_use"} 1
krt_runtime_slots{namespace="ns",runtime="bash",state="pending"} 1
`
	if err := testutil.CollectAndCompare(col, strings.NewReader(want), "krt_run_oldest_pending_seconds", "krt_runtime_slots"); err != nil {
		t.Error(err)
	}
	for _, l := range []struct {
		runtime, phase string
		want           float64
	}{{"bash", "Pending", 1}, {"bash", "Running", 1}, {"bash", "Succeeded", 0}, {"(unknown)", "Pending", 1}} {
		got := gaugeValue(t, col, "krt_runs", map[string]string{"runtime": l.runtime, "phase": l.phase})
		if got != l.want {
			t.Errorf("krt_runs{runtime=%s,phase=%s} = %g, want %g", l.runtime, l.phase, got, l.want)
		}
	}
}
