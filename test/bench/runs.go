package main

import (
	"context"
	"fmt"
	"os"
	"strings"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	krtv1 "krt.dev/krt/api/v1alpha1"
	"krt.dev/krt/runtimed/heartbeat"
)

// noop is the cheapest Run: exec true, no shell.
func noop(ns string) *krtv1.Run {
	return &krtv1.Run{ObjectMeta: metav1.ObjectMeta{GenerateName: "n-", Namespace: ns},
		Spec: krtv1.RunSpec{Runtime: "noop", Command: []string{"true"}}}
}

// throughput keeps the pool saturated and counts Runs that succeed.
func (b *bench) throughput(ctx context.Context) error {
	ns, err := b.pool(ctx, "throughput")
	if err != nil {
		return err
	}
	inflight := 2 * b.opts.pods * b.opts.capacity
	var samples, perRun []float64
	var cpu []map[string]float64
	for i := range b.opts.repeats {
		tr, err := track(ctx, b.watcher, ns)
		if err != nil {
			return err
		}
		all0, err := b.writesByResource(ctx)
		if err != nil {
			return err
		}
		writes0 := all0["runs"]
		cpu0 := cpuByProcess(krtProcesses...)
		load := b.keepOutstanding(ctx, ns, tr, inflight)
		time.Sleep(2 * time.Second) // warm up: the pipeline fills
		before, start := tr.count(), time.Now()
		if i == 0 && b.opts.profiles != "" {
			if err := b.profile(ctx, b.opts.profiles, b.opts.window); err != nil {
				return err
			}
		}
		time.Sleep(time.Until(start.Add(b.opts.window)))
		rate := float64(tr.count()-before) / time.Since(start).Seconds()
		load.stop()
		created := int(load.created.Load())
		tr.drainN(created, 60*time.Second)
		tr.stop()
		// Before the clean: the bare writes' windows do not count deleting
		// their Runs either.
		cpu1 := cpuByProcess(krtProcesses...)
		all1, err := b.writesByResource(ctx)
		if err != nil {
			return err
		}
		writes1 := all1["runs"]
		if i == 0 {
			b.results["api_requests_per_run"] = requestsPerRun(all0, all1, created)
		}
		if err := b.clean(ctx, ns); err != nil {
			return err
		}
		wpr := (writes1 - writes0) / float64(created)
		cpu = append(cpu, cpuPerRun(cpu0, cpu1, created))
		fmt.Fprintf(os.Stderr, "bench: throughput, repeat %d: %.1f Runs/s, %.2f API writes per Run (%d failed)\n", i+1, rate, wpr, tr.failed)
		samples, perRun = append(samples, rate), append(perRun, wpr)
	}
	b.results["api_writes_per_run"] = round2(median(perRun))
	b.results["cpu_ms_per_run"] = medianByKey(cpu)
	r := median(samples)
	b.results["runs_per_second"] = round(r)
	b.results["runs_per_second_samples"] = rounds(samples)
	if c, ok := b.results["ceiling_runs_per_second"].(float64); ok && c > 0 {
		b.results["runs_per_second_vs_ceiling"] = round2(r / c)
	}
	b.results["runs_per_second_vs_reference"] = round2(r / referenceRunsPerSecond)
	return nil
}

// latency creates no-op Runs at a fixed arrival rate and measures each from
// the moment its create was sent to the moment it was seen Succeeded.
func (b *bench) latency(ctx context.Context) error {
	ns, err := b.pool(ctx, "latency")
	if err != nil {
		return err
	}
	var p50s, p95s, p99s []float64
	// Warm up the pool's processes and the API server's caches first.
	if _, err := b.arrivals(ctx, ns, b.opts.rate, time.Second); err != nil {
		return err
	}
	for i := range b.opts.repeats {
		tr, err := b.arrivals(ctx, ns, b.opts.rate, b.opts.window)
		if err != nil {
			return err
		}
		lat := tr.latencies()
		steps := tr.breakdown()
		p50, p95, p99 := percentile(lat, 50), percentile(lat, 95), percentile(lat, 99)
		fmt.Fprintf(os.Stderr, "bench: latency at %.0f/s, repeat %d: p50 %.1fms p95 %.1fms p99 %.1fms over %d Runs; median steps (ms) %v\n",
			b.opts.rate, i+1, p50, p95, p99, len(lat), steps)
		p50s, p95s, p99s = append(p50s, p50), append(p95s, p95), append(p99s, p99)
	}
	// Its pool is done: stop it, so the next figure has the machine.
	if err := b.env.Client.Delete(ctx, &krtv1.Runtime{ObjectMeta: metav1.ObjectMeta{Name: "noop", Namespace: ns}}); err != nil {
		return err
	}
	p50 := median(p50s)
	b.results["latency_ms"] = map[string]float64{"p50": round(p50), "p95": round(median(p95s)), "p99": round(median(p99s))}
	if floor, ok := b.results["four_serial_writes_ms_p50"].(float64); ok && floor > 0 {
		b.results["latency_p50_vs_four_serial_writes"] = round2(p50 / floor)
	}
	b.results["latency_rate_per_second"] = b.opts.rate
	b.results["latency_p50_vs_reference"] = round2(p50 / referenceP50Millis)
	return nil
}

// arrivals creates no-op Runs at a fixed rate for a while, open loop, and
// returns once they have all finished and been cleaned away.
func (b *bench) arrivals(ctx context.Context, ns string, rate float64, d time.Duration) (*tracker, error) {
	tr, err := track(ctx, b.watcher, ns)
	if err != nil {
		return nil, err
	}
	defer tr.stop()
	n := int(rate * d.Seconds())
	interval := time.Duration(float64(time.Second) / rate)
	start := time.Now()
	for k := range n {
		time.Sleep(time.Until(start.Add(time.Duration(k) * interval)))
		go func() {
			run := noop(ns)
			sent := time.Now()
			if err := b.env.Client.Create(ctx, run); err != nil {
				fmt.Fprintln(os.Stderr, "bench: create:", err)
				return
			}
			tr.sent(run.Name, sent)
		}()
	}
	tr.drainN(n, 60*time.Second)
	return tr, b.clean(ctx, ns)
}

// pool creates a namespace with a no-op Runtime and waits for its pods.
func (b *bench) pool(ctx context.Context, name string) (string, error) {
	ns, err := b.namespace(ctx, name)
	if err != nil {
		return "", err
	}
	rt := &krtv1.Runtime{ObjectMeta: metav1.ObjectMeta{Name: "noop", Namespace: ns},
		Spec: krtv1.RuntimeSpec{Replicas: ptr.To(int32(b.opts.pods)), Capacity: int32(b.opts.capacity)}}
	if err := b.env.Client.Create(ctx, rt); err != nil {
		return "", err
	}
	return ns, b.waitPool(ctx, ns)
}

// waitPool waits until the namespace's pool pods are up and heartbeating.
func (b *bench) waitPool(ctx context.Context, ns string) error {
	return b.waitPoolOf(ctx, ns, "noop")
}

// waitPoolOf waits for the pods of one Runtime of the namespace.
func (b *bench) waitPoolOf(ctx context.Context, ns, runtime string) error {
	return wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, 2*time.Minute, true, func(context.Context) (bool, error) {
		pods := b.stack.Pool.Pods(ns, runtime)
		if len(pods) != b.opts.pods {
			return false, nil
		}
		for _, p := range pods {
			l := &coordinationv1.Lease{}
			if b.env.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: p.Name}, l) != nil || !heartbeat.Fresh(l, p.UID, time.Now()) {
				return false, nil
			}
		}
		return true, nil
	})
}

// clean deletes a namespace's Runs, as their TTL would in a cluster, so
// one figure's leftovers do not weigh on the next.
func (b *bench) clean(ctx context.Context, ns string) error {
	return b.env.Client.DeleteAllOf(ctx, &krtv1.Run{}, client.InNamespace(ns))
}

// requestsPerRun is each kind of API request per Run between two samples,
// those of at least 0.01 per Run.
func requestsPerRun(before, after map[string]float64, runs int) map[string]float64 {
	out := map[string]float64{}
	for k, v := range after {
		if per := round2((v - before[k]) / float64(runs)); strings.HasPrefix(k, "all:") && per >= 0.01 {
			out[strings.TrimPrefix(k, "all:")] = per
		}
	}
	return out
}
