package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	krtv1 "krt.dev/krt/api/v1alpha1"
	"krt.dev/krt/runtimed/heartbeat"
)

// The autoscale figures: a pool of up to autoscaleMax pods of
// autoscaleCapacity slots, and a burst of autoscaleBurst Runs that each
// hold a slot for autoscaleNap, so the pool's size shows in the time.
const (
	autoscaleMax      = 8
	autoscaleCapacity = 4
	autoscaleBurst    = 200
	autoscaleNap      = "0.5"
)

// autoscale measures, in each repeat, a burst on an autoscaled Runtime at
// zero pods (the time from the first Run's create to the first pod Ready
// and heartbeating, and to the last Run done), then the same burst on a
// Runtime pre-scaled to the maximum: the price of starting cold.
func (b *bench) autoscale(ctx context.Context) error {
	var cold, fromZero, prescaled []float64
	for i := range b.opts.repeats {
		first, all, err := b.burstFromZero(ctx)
		if err != nil {
			return err
		}
		warm, err := b.burstPrescaled(ctx)
		if err != nil {
			return err
		}
		fmt.Fprintf(os.Stderr, "bench: autoscale, repeat %d: first pod ready %.2fs after the first Run; %d Runs done in %.2fs from zero, %.2fs pre-scaled\n",
			i+1, first, autoscaleBurst, all, warm)
		cold, fromZero, prescaled = append(cold, first), append(fromZero, all), append(prescaled, warm)
	}
	b.results["autoscale_first_pod_ready_s"] = round2(median(cold))
	b.results["autoscale_burst_from_zero_s"] = round2(median(fromZero))
	b.results["autoscale_burst_prescaled_s"] = round2(median(prescaled))
	b.results["autoscale_burst_from_zero_vs_prescaled"] = round2(median(fromZero) / median(prescaled))
	return nil
}

func (b *bench) burstFromZero(ctx context.Context) (firstPod, all float64, err error) {
	ns, err := b.namespace(ctx, "autoscale")
	if err != nil {
		return 0, 0, err
	}
	spec := krtv1.RuntimeSpec{Capacity: autoscaleCapacity, Autoscaling: &krtv1.RuntimeAutoscaling{MaxReplicas: autoscaleMax}}
	rt := &krtv1.Runtime{ObjectMeta: metav1.ObjectMeta{Name: "noop", Namespace: ns}, Spec: spec}
	if err := b.env.Client.Create(ctx, rt); err != nil {
		return 0, 0, err
	}
	// From an idle pool at zero: its objects made, its status written.
	err = wait.PollUntilContextTimeout(ctx, 50*time.Millisecond, time.Minute, true, func(context.Context) (bool, error) {
		err := b.env.Client.Get(ctx, client.ObjectKeyFromObject(rt), rt)
		return err == nil && rt.Status.ObservedGeneration == rt.Generation && rt.Status.Selector != "", nil
	})
	if err != nil {
		return 0, 0, fmt.Errorf("an idle autoscaled Runtime: %w", err)
	}
	start := time.Now()
	ready := make(chan time.Duration, 1)
	go func() {
		var made time.Duration
		_ = wait.PollUntilContextTimeout(ctx, 10*time.Millisecond, 2*time.Minute, true, func(context.Context) (bool, error) {
			if made == 0 && len(b.stack.Pool.Pods(ns, "noop")) > 0 {
				made = time.Since(start)
			}
			return b.readyPods(ctx, ns, "noop") > 0, nil
		})
		fmt.Fprintf(os.Stderr, "bench: autoscale: the first pod was made after %.2fs\n", made.Seconds())
		ready <- time.Since(start)
	}()
	took, err := b.burst(ctx, ns)
	if err != nil {
		return 0, 0, err
	}
	return (<-ready).Seconds(), took.Seconds(), b.dropRuntime(ctx, ns)
}

func (b *bench) burstPrescaled(ctx context.Context) (float64, error) {
	ns, err := b.namespace(ctx, "prescaled")
	if err != nil {
		return 0, err
	}
	spec := krtv1.RuntimeSpec{Capacity: autoscaleCapacity, Replicas: ptr.To[int32](autoscaleMax)}
	if err := b.env.Client.Create(ctx, &krtv1.Runtime{ObjectMeta: metav1.ObjectMeta{Name: "noop", Namespace: ns}, Spec: spec}); err != nil {
		return 0, err
	}
	err = wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, 2*time.Minute, true, func(context.Context) (bool, error) {
		return b.readyPods(ctx, ns, "noop") == autoscaleMax, nil
	})
	if err != nil {
		return 0, fmt.Errorf("a pool of %d pods: %w", autoscaleMax, err)
	}
	took, err := b.burst(ctx, ns)
	if err != nil {
		return 0, err
	}
	return took.Seconds(), b.dropRuntime(ctx, ns)
}

// burst creates the Runs from 8 clients at once, timed from the first
// create to the last Run done.
func (b *bench) burst(ctx context.Context, ns string) (time.Duration, error) {
	tr, err := track(ctx, b.watcher, ns)
	if err != nil {
		return 0, err
	}
	defer tr.stop()
	start := time.Now()
	next := make(chan int, autoscaleBurst)
	for i := range autoscaleBurst {
		next <- i
	}
	close(next)
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range next {
				run := &krtv1.Run{ObjectMeta: metav1.ObjectMeta{GenerateName: "n-", Namespace: ns},
					Spec: krtv1.RunSpec{Runtime: "noop", Command: []string{"sleep", autoscaleNap}}}
				if err := b.env.Client.Create(ctx, run); err != nil {
					fmt.Fprintln(os.Stderr, "bench: create:", err)
				}
			}
		})
	}
	wg.Wait()
	tr.drainN(autoscaleBurst, 3*time.Minute)
	took := time.Since(start)
	if n := tr.count(); n < autoscaleBurst || tr.failed > 0 {
		return 0, fmt.Errorf("burst in %s: %d of %d Runs done, %d failed", ns, n, autoscaleBurst, tr.failed)
	}
	return took, nil
}

// readyPods counts a Runtime's local pods with a fresh heartbeat.
func (b *bench) readyPods(ctx context.Context, ns, runtime string) int {
	n := 0
	for _, p := range b.stack.Pool.Pods(ns, runtime) {
		l := &coordinationv1.Lease{}
		if b.env.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: p.Name}, l) == nil && heartbeat.Fresh(l, p.UID, time.Now()) {
			n++
		}
	}
	return n
}

// dropRuntime stops a figure's pool and its Runs, so the next has the
// machine.
func (b *bench) dropRuntime(ctx context.Context, ns string) error {
	if err := b.clean(ctx, ns); err != nil {
		return err
	}
	return b.env.Client.Delete(ctx, &krtv1.Runtime{ObjectMeta: metav1.ObjectMeta{Name: "noop", Namespace: ns}})
}

func (b *bench) printAutoscale(w io.Writer) {
	r := b.results
	if _, ok := r["autoscale_first_pod_ready_s"]; !ok {
		return
	}
	fmt.Fprintf(w, "autoscale: first Pending Run → first pod ready from zero, s\t%v\t-\t-\tseconds\n", r["autoscale_first_pod_ready_s"])
	fmt.Fprintf(w, "autoscale: %d Runs (%ss each) from zero to max %d pods, s\t%v\tpre-scaled to %d: %v s\t%v\t-\n",
		autoscaleBurst, autoscaleNap, autoscaleMax, r["autoscale_burst_from_zero_s"], autoscaleMax, r["autoscale_burst_prescaled_s"], r["autoscale_burst_from_zero_vs_prescaled"])
}
