package main

import (
	"context"
	"fmt"
	"os"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	krtv1 "krt.dev/krt/api/v1alpha1"
)

// writers is enough concurrent clients to saturate the API server.
const writers = 16

// apiWrites measures the raw write rate of the API server for the writes a
// Run costs: a create and three status updates, with no controller running.
// The ceiling for Runs is a quarter of it.
func (b *bench) apiWrites(ctx context.Context) error {
	ns, err := b.namespace(ctx, "writes")
	if err != nil {
		return err
	}
	var samples []float64
	var cpu []map[string]float64
	// The API server's first seconds under load are slower: warm it up.
	warm := time.Now().Add(2 * time.Second)
	for time.Now().Before(warm) {
		if err := b.fourWrites(ctx, ns); err != nil {
			return err
		}
	}
	for i := range b.opts.repeats {
		var writes atomic.Int64
		cpu0 := cpuByProcess(krtProcesses...)
		deadline := time.Now().Add(b.opts.window)
		start := time.Now()
		var wg sync.WaitGroup
		var firstErr atomic.Value
		for range writers {
			wg.Go(func() {
				// Each loop finishes its Run, so none is left Pending.
				for time.Now().Before(deadline) {
					if err := b.fourWrites(ctx, ns); err != nil {
						firstErr.CompareAndSwap(nil, err)
						return
					}
					writes.Add(4)
				}
			})
		}
		wg.Wait()
		if err, ok := firstErr.Load().(error); ok {
			return err
		}
		rate := float64(writes.Load()) / time.Since(start).Seconds()
		cpu = append(cpu, cpuPerRun(cpu0, cpuByProcess(krtProcesses...), int(writes.Load()/4)))
		fmt.Fprintf(os.Stderr, "bench: api writes, repeat %d: %.0f writes/s\n", i+1, rate)
		samples = append(samples, rate)
	}
	// One client, one Run at a time: the floor under a Run's latency.
	var serial []float64
	for range 100 {
		start := time.Now()
		if err := b.fourWrites(ctx, ns); err != nil {
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
	b.results["ceiling_runs_per_second"] = round(w / 4)
	b.results["api_writes_samples"] = rounds(samples)
	b.results["cpu_ms_per_four_writes"] = medianByKey(cpu)
	return nil
}

func (b *bench) fourWrites(ctx context.Context, ns string) error {
	c := b.env.Client
	run := &krtv1.Run{ObjectMeta: metav1.ObjectMeta{GenerateName: "w-", Namespace: ns},
		Spec: krtv1.RunSpec{Runtime: "baseline", Command: []string{"true"}}}
	if err := c.Create(ctx, run); err != nil {
		return err
	}
	now := metav1.Now()
	steps := []func(){
		func() {
			run.Status.Phase, run.Status.AssignedPod, run.Status.AssignedPodUID, run.Status.Attempt = krtv1.RunScheduled, "pod", "uid", 1
		},
		func() { run.Status.Phase, run.Status.StartTime = krtv1.RunRunning, &now },
		func() { run.Finish(krtv1.RunSucceeded, krtv1.ReasonSucceeded, "exit code 0", time.Now()) },
	}
	for _, step := range steps {
		step()
		if err := c.Status().Update(ctx, run); err != nil {
			return err
		}
	}
	return nil
}
