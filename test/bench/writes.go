package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/time/rate"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/watch"
	"sigs.k8s.io/controller-runtime/pkg/client"

	krtv1 "krt.dev/krt/api/v1alpha1"
)

// writers is enough concurrent clients to saturate the API server.
const writers = 16

// runWrites is what a short Run costs the API server: a create and two
// status updates, the assignment and the result (runtimed claims only a
// Run that outlasts --claim-after).
const runWrites = 3

// apiWrites measures the raw write rate of the API server for the writes a
// Run costs, with no controller running. The ceiling for Runs is a third
// of it.
func (b *bench) apiWrites(ctx context.Context) error {
	ns, err := b.namespace(ctx, "writes")
	if err != nil {
		return err
	}
	// The API server's first seconds under load are slower: warm it up.
	warm := time.Now().Add(2 * time.Second)
	for time.Now().Before(warm) {
		if err := b.bareRun(ctx, ns, false, b.asAdmin()); err != nil {
			return err
		}
	}
	// The bare writes' profile, to set beside the Runs' one.
	cpu, samples, err := b.windows(ctx, ns, windowing{what: "api writes", prof: "bare-writes"})
	if err != nil {
		return err
	}
	// One client, one Run at a time, with the claim: the four serial
	// writes issue 17 judges a machine's speed by.
	var serial []float64
	for range 100 {
		start := time.Now()
		if err := b.bareRun(ctx, ns, true, b.asAdmin()); err != nil {
			return err
		}
		serial = append(serial, float64(time.Since(start).Microseconds())/1000)
	}
	sort.Float64s(serial)
	if err := b.clean(ctx, ns); err != nil {
		return err
	}
	b.results["four_serial_writes_ms_p50"] = round(percentile(serial, 50))
	w := median(samples)
	b.results["api_writes_per_second"] = round(w)
	b.results["ceiling_runs_per_second"] = round(w / runWrites)
	b.results["api_writes_samples"] = rounds(samples)
	b.results["cpu_ms_per_run_writes"] = cpu
	watched, err := b.watchedWrites(ctx, ns)
	if err != nil {
		return err
	}
	b.results["cpu_ms_per_run_writes_watched"] = watched
	asKrt, paired, err := b.identityWrites(ctx, ns)
	if err != nil {
		return err
	}
	b.results["cpu_ms_per_run_writes_as_krt"] = asKrt
	b.results["cpu_ms_per_run_writes_as_krt_paired_admin"] = paired
	return b.clean(ctx, ns)
}

// apiWritesAfter measures the bare writes again once krt's figures are done
// and its processes stopped. The same writes cost the API server more
// as it ages under load (its first windows are its cheapest), and krt's
// Runs are measured after the first bare writes: the two measurements
// bracket krt's.
func (b *bench) apiWritesAfter(ctx context.Context) error {
	ns, err := b.namespace(ctx, "writes-after")
	if err != nil {
		return err
	}
	after, _, err := b.windows(ctx, ns, windowing{what: "api writes after krt's figures"})
	if err != nil {
		return err
	}
	b.results["cpu_ms_per_run_writes_after"] = after
	// The paced writes: flat out, they keep the API server saturated,
	// where each write costs it least, and krt's pipeline does not.
	if perSecond, _ := b.results["runs_per_second"].(float64); perSecond > 0 {
		paced, _, err := b.windows(ctx, ns, windowing{what: fmt.Sprintf("api writes paced at krt's %.0f Runs/s", perSecond),
			prof: "bare-writes-paced", perSecond: perSecond, fresh: true})
		if err != nil {
			return err
		}
		b.results["cpu_ms_per_run_writes_paced"] = paced
	}
	return b.clean(ctx, ns)
}

// windowing is one kind of bare-writes window: what the log calls it,
// the name of the API server's profile during the first one ("" for
// none), at most perSecond Runs a second (0 for flat out), and whether
// each starts from an empty namespace.
type windowing struct {
	what, prof string
	perSecond  float64
	fresh      bool
}

// windows makes the admin's bare writes for each repeat and returns the
// median CPU per Run and each window's writes/s.
func (b *bench) windows(ctx context.Context, ns string, w windowing) (map[string]float64, []float64, error) {
	var cpu []map[string]float64
	var rates []float64
	for i := range b.opts.repeats {
		if w.fresh {
			if err := b.clean(ctx, ns); err != nil {
				return nil, nil, err
			}
		}
		prof := ""
		if i == 0 && b.opts.profiles != "" && w.prof != "" {
			prof = filepath.Join(b.opts.profiles, "kube-apiserver-"+w.prof+".prof")
		}
		var pace *rate.Limiter
		if w.perSecond > 0 {
			pace = rate.NewLimiter(rate.Limit(w.perSecond), 1)
		}
		got, c, err := b.writeWindow(ctx, ns, prof, b.asAdmin(), pace)
		if err != nil {
			return nil, nil, err
		}
		cpu, rates = append(cpu, c), append(rates, got)
		fmt.Fprintf(os.Stderr, "bench: %s, repeat %d: %.0f writes/s\n", w.what, i+1, got)
	}
	return medianByKey(cpu), rates, nil
}

// writeWindow makes bare Runs' writes from all writers for one window and
// says how many writes a second it made and the CPU per Run it cost,
// profiling the API server into prof meanwhile unless prof is "".
func (b *bench) writeWindow(ctx context.Context, ns, prof string, as writer, pace *rate.Limiter) (float64, map[string]float64, error) {
	var writes atomic.Int64
	cpu0 := cpuByProcess(krtProcesses...)
	deadline := time.Now().Add(b.opts.window)
	start := time.Now()
	var wg sync.WaitGroup
	var firstErr atomic.Value
	if prof != "" {
		wg.Go(func() {
			err := os.MkdirAll(filepath.Dir(prof), 0o755)
			if err == nil {
				err = b.profileAPIServer(ctx, prof, b.opts.window)
			}
			if err != nil {
				firstErr.CompareAndSwap(nil, err)
			}
		})
	}
	for range writers {
		wg.Go(func() {
			// Each loop finishes its Run, so none is left Pending.
			for time.Now().Before(deadline) {
				// A token due after the deadline would stretch the window.
				if pace != nil && (pace.Wait(ctx) != nil || time.Now().After(deadline)) {
					return
				}
				if err := b.bareRun(ctx, ns, false, as); err != nil {
					firstErr.CompareAndSwap(nil, err)
					return
				}
				writes.Add(runWrites)
			}
		})
	}
	wg.Wait()
	if err, ok := firstErr.Load().(error); ok {
		return 0, nil, err
	}
	rate := float64(writes.Load()) / time.Since(start).Seconds()
	return rate, cpuPerRun(cpu0, cpuByProcess(krtProcesses...), int(writes.Load()/runWrites)), nil
}

// watchedWrites is the CPU per Run of the same bare writes made while the
// three Run watches krt's processes hold are open and read: every
// namespace's (krt-controller's informer), the assigned pod's by field
// selector (runtimed's), and the namespace's (the bench's own, which
// sees every Run end). Any controller of Runs serves such watches, so
// set beside the bare writes it says how much of what a Run costs the
// API server beyond them is serving watches and how much is krt's.
func (b *bench) watchedWrites(ctx context.Context, ns string) (map[string]float64, error) {
	if err := b.clean(ctx, ns); err != nil {
		return nil, err
	}
	selections := [][]client.ListOption{
		nil,
		{client.InNamespace(ns), client.MatchingFields{krtv1.FieldAssignedPod: "pod"}},
		{client.InNamespace(ns)},
	}
	var wg sync.WaitGroup
	var watches []watch.Interface
	defer func() {
		for _, w := range watches {
			w.Stop()
		}
		wg.Wait()
	}()
	for _, sel := range selections {
		w, err := b.watcher.Watch(ctx, &krtv1.RunList{}, sel...)
		if err != nil {
			return nil, err
		}
		watches = append(watches, w)
		wg.Go(func() {
			for range w.ResultChan() {
			}
		})
	}
	cpu, _, err := b.windows(ctx, ns, windowing{what: "api writes with krt's three Run watches"})
	return cpu, err
}

// writer is who assigns a bare Run and who makes its claim and result,
// and the pod the Run is assigned to.
type writer struct {
	assign, result client.Client
	pod            string
	podUID         types.UID
}

// asAdmin makes every write as the admin, who passes no RBAC, fairness
// queue or admission policy: the bare writes the issue judges by.
func (b *bench) asAdmin() writer {
	return writer{assign: b.env.Client, result: b.env.Client, pod: "pod", podUID: "uid"}
}

// bareRun makes one Run's writes by hand: create, assign, the claim if
// asked, and the result, the last two as runtimed would, by as.
func (b *bench) bareRun(ctx context.Context, ns string, claim bool, as writer) error {
	c := b.env.Client
	run := &krtv1.Run{ObjectMeta: metav1.ObjectMeta{GenerateName: "w-", Namespace: ns},
		Spec: krtv1.RunSpec{Runtime: "baseline", Command: []string{"true"}}}
	if err := c.Create(ctx, run); err != nil {
		return err
	}
	now := metav1.Now()
	steps := []func(){
		func() {
			run.Status.Phase, run.Status.AssignedPod, run.Status.AssignedPodUID, run.Status.Attempt = krtv1.RunScheduled, as.pod, as.podUID, 1
			run.Status.StartTime = &now
		},
		func() { run.Finish(krtv1.RunSucceeded, krtv1.ReasonSucceeded, "exit code 0", time.Now()) },
	}
	if claim {
		running := func() { run.Status.Phase = krtv1.RunRunning }
		steps = []func(){steps[0], running, steps[1]}
	}
	for i, step := range steps {
		step()
		// The scheduler assigns; runtimed writes what follows.
		by := as.result
		if i == 0 {
			by = as.assign
		}
		if err := by.Status().Update(ctx, run); err != nil {
			return err
		}
	}
	return nil
}
