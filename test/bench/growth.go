package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	krtv1 "krt.dev/krt/api/v1alpha1"
	"krt.dev/krt/test/kubetest"
)

// Issue 17's goal 5: how CPU per Run grows with the pool's pods and with
// the backlog of Pending Runs, on simulated pods (see simPool).
const (
	// growthSlots are the pool's slots at every point of the pods curve,
	// so that only the number of pods changes: 2×100, 20×10, 200×1.
	growthSlots = 200
	// growthBacklog is the second point of the backlog curve.
	growthBacklog = 10000
	// simLease is runtimed's default lease, as a cluster has it: the
	// heartbeats' cost grows with pods, and this is their real rate.
	simLease = 15 * time.Second
	// growthIdle is how long a pool's idle cost is sampled: two whole
	// heartbeat periods (runtimed renews every third of its lease), so
	// that each pod's renewals are counted as often as they happen.
	growthIdle = 2 * simLease / 3
)

var growthPods = []int{2, 20, 200}

// growthPoint is one point of a curve: medians of the repeats.
type growthPoint struct {
	Pods          int                `json:"pods"`
	Capacity      int                `json:"capacity_per_pod"`
	Backlog       int                `json:"backlog"`
	RunsPerSecond float64            `json:"runs_per_second"`
	CPU           map[string]float64 `json:"cpu_ms_per_run"`
	Total         float64            `json:"cpu_ms_per_run_total"`
	// IdleMsPerSecond is every process's CPU per second with the pool
	// idle: heartbeats and watches, which Runs do not cause.
	IdleMsPerSecond float64 `json:"idle_cpu_ms_per_second,omitempty"`
	// LessIdle is Total less the idle pool's share of each Run's window:
	// what Runs cause. A pod's heartbeats cost the same per second whether
	// it runs anything or not, so they grow with pods but not with Runs.
	LessIdle float64 `json:"cpu_ms_per_run_less_idle,omitempty"`
}

// growthFigures measures the pods curve and then the backlog curve, with
// a krt-controller of their own and no local pool: run it when no other
// stack is running, or two schedulers would share the Runs.
func (b *bench) growthFigures(ctx context.Context) error {
	so := b.opts.stackOptions()
	so.NoPool, so.RuntimedArgs = true, nil
	fmt.Fprintln(os.Stderr, "bench: growth: starting the controller, with simulated runtime pods")
	stack, err := kubetest.StartStack(b.env, b.bins, so)
	if err != nil {
		return err
	}
	defer stack.Stop()
	time.Sleep(5 * time.Second) // the controller's start is not a Run's cost
	var pods []growthPoint
	counts := growthPods
	if !b.opts.growthCurve("pods") {
		counts = counts[:1] // the backlog curve's first point
	}
	for _, n := range counts {
		pt, err := b.growthPoint(ctx, n, 0)
		if err != nil {
			return fmt.Errorf("growth, %d pods: %w", n, err)
		}
		pods = append(pods, pt)
	}
	if b.opts.growthCurve("pods") {
		b.results["growth_pods"] = pods
	}
	if !b.opts.growthCurve("backlog") {
		return nil
	}
	pt, err := b.growthPoint(ctx, growthPods[0], growthBacklog)
	if err != nil {
		return fmt.Errorf("growth, backlog %d: %w", growthBacklog, err)
	}
	// The first point of the pods curve is the backlog curve's first: the
	// same pool with nothing waiting.
	b.results["growth_backlog"] = []growthPoint{pods[0], pt}
	return nil
}

// growthPoint keeps a pool of n simulated pods saturated, with backlog
// Pending Runs waiting beyond what the pool holds, and takes CPU per Run
// and Runs/s over each repeat's window.
func (b *bench) growthPoint(ctx context.Context, n, backlog int) (growthPoint, error) {
	pt := growthPoint{Pods: n, Capacity: growthSlots / n, Backlog: backlog}
	ns, err := b.namespace(ctx, fmt.Sprintf("growth-%d-%d", n, backlog))
	if err != nil {
		return pt, err
	}
	rt := &krtv1.Runtime{ObjectMeta: metav1.ObjectMeta{Name: "noop", Namespace: ns},
		Spec: krtv1.RuntimeSpec{Replicas: ptr.To(int32(n)), Capacity: int32(pt.Capacity)}}
	if err := b.env.Client.Create(ctx, rt); err != nil {
		return pt, err
	}
	// With a backlog the pool starts paused: the Runs are created faster
	// than the pool would work them off, so the backlog is there at once.
	sim, err := startSimPool(b.env, rt, n, simLease, backlog > 0)
	if err != nil {
		return pt, err
	}
	defer b.endPoint(ctx, sim, rt)
	time.Sleep(time.Second) // the scheduler's cache sees the pods and Leases
	if backlog == 0 {
		// With a backlog, the last point's Runs are still being deleted.
		// A heartbeat period first, so that the pool's start (its Leases'
		// creation, the informers' first events) is not counted as idle:
		// subtracted from the Runs' cost, it would flatter the curve.
		time.Sleep(simLease / 3)
		pt.IdleMsPerSecond = idleCPU(growthIdle)
	}
	tr, err := track(ctx, b.watcher, ns)
	if err != nil {
		return pt, err
	}
	defer tr.stop()
	outstanding := backlog + 2*growthSlots
	load := b.keepOutstanding(ctx, ns, tr, outstanding)
	defer load.stop()
	if backlog > 0 {
		if err := load.waitCreated(ctx, outstanding); err != nil {
			return pt, err
		}
		sim.resume(ctx)
	}
	// Warm up: the pipeline fills. On a loaded machine a fresh controller
	// can take a while to sync, which is not what the figure measures.
	if err := wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, 2*time.Minute, true, func(context.Context) (bool, error) {
		return tr.count() > 0, nil
	}); err != nil {
		return pt, fmt.Errorf("no Run ended within 2 minutes (%d created)", load.created.Load())
	}
	time.Sleep(3 * time.Second)
	var rates []float64
	var cpus []map[string]float64
	for i := range b.opts.repeats {
		before, cpu0, start := tr.count(), cpuByProcess(krtProcesses...), time.Now()
		if i == 0 && b.opts.profiles != "" {
			dir := filepath.Join(b.opts.profiles, fmt.Sprintf("growth-%dpods-%dbacklog", n, backlog))
			if err := b.profile(ctx, dir, b.opts.window); err != nil {
				return pt, err
			}
		}
		time.Sleep(time.Until(start.Add(b.opts.window)))
		done := tr.count() - before
		if done == 0 {
			return pt, fmt.Errorf("no Run ended in %s (%d created, %d ended)", b.opts.window, load.created.Load(), tr.count())
		}
		cpu := cpuPerRun(cpu0, cpuByProcess(krtProcesses...), max(done, 1))
		rate := float64(done) / time.Since(start).Seconds()
		fmt.Fprintf(os.Stderr, "bench: growth, %d pods, backlog %d, repeat %d: %.1f Runs/s, %.2f ms CPU per Run %v; %d created, %d done\n",
			n, backlog, i+1, rate, sumProcesses(cpu), cpu, load.created.Load(), tr.count())
		rates, cpus = append(rates, rate), append(cpus, cpu)
	}
	// The total is the sum of each process's median, as the slopes take it.
	pt.RunsPerSecond, pt.CPU = round(median(rates)), medianByKey(cpus)
	pt.Total = round2(sumProcesses(pt.CPU))
	pt.IdleMsPerSecond = round2(pt.IdleMsPerSecond)
	if pt.IdleMsPerSecond > 0 && pt.RunsPerSecond > 0 {
		pt.LessIdle = round2(pt.Total - pt.IdleMsPerSecond/pt.RunsPerSecond)
	}
	return pt, nil
}

// endPoint stops a point's pool and deletes what it made, pods and Leases
// too (no garbage collector runs here), so the next point starts clean.
func (b *bench) endPoint(ctx context.Context, sim *simPool, rt *krtv1.Runtime) {
	sim.stop()
	_ = b.env.Client.Delete(ctx, rt)
	for _, o := range []client.Object{&krtv1.Run{}, &corev1.Pod{}, &coordinationv1.Lease{}} {
		// No kubelet confirms a pod's end here: delete it at once.
		_ = b.env.Client.DeleteAllOf(ctx, o, client.InNamespace(rt.Namespace), client.GracePeriodSeconds(0))
	}
}

// idleCPU is every krt process's CPU per second over d.
func idleCPU(d time.Duration) float64 {
	before := cpuByProcess(krtProcesses...)
	time.Sleep(d)
	return sumProcesses(cpuPerRun(before, cpuByProcess(krtProcesses...), 1)) / d.Seconds()
}

// growthCurve reports whether -growth-curves asks for a curve.
func (o options) growthCurve(name string) bool {
	return slices.Contains(strings.Split(o.curves, ","), name)
}
