package main

import (
	"context"
	"fmt"
	"os"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"sigs.k8s.io/controller-runtime/pkg/client"

	krtv1 "krt.dev/krt/api/v1alpha1"
)

// killToRetry kills -9 the runtimed of a pod running a Run and measures how
// long until the reaper gives the Run its second attempt, and until that
// attempt runs on the other pod. The baseline is the heartbeat's lease
// duration, the bound on noticing a silent pod.
func (b *bench) killToRetry(ctx context.Context) error {
	b.opts.pods = 2
	ns, err := b.pool(ctx, "faults")
	if err != nil {
		return err
	}
	var retried, rerun []float64
	for i := range b.opts.repeats {
		run := &krtv1.Run{ObjectMeta: metav1.ObjectMeta{GenerateName: "f-", Namespace: ns}, Spec: krtv1.RunSpec{
			Runtime: "noop", Script: `[ "$KRT_ATTEMPT" = 1 ] && sleep 120; true`,
			RetryPolicy: &krtv1.RetryPolicy{MaxAttempts: 2, Backoff: &metav1.Duration{Duration: time.Millisecond}}}}
		if err := b.env.Client.Create(ctx, run); err != nil {
			return err
		}
		first, err := b.waitRun(ctx, run, func(r *krtv1.Run) bool { return r.Status.Phase == krtv1.RunRunning })
		if err != nil {
			return fmt.Errorf("waiting for the Run to start: %w", err)
		}
		pod := first.Status.AssignedPod
		if err := b.stack.Pool.KillRuntimed(ns, pod); err != nil {
			return err
		}
		killed := time.Now()
		if _, err := b.waitRun(ctx, run, func(r *krtv1.Run) bool { return r.Status.Attempt == 2 }); err != nil {
			return fmt.Errorf("waiting for the retry: %w", err)
		}
		retried = append(retried, ms(time.Since(killed)))
		if _, err := b.waitRun(ctx, run, func(r *krtv1.Run) bool {
			return r.Status.Attempt == 2 && r.Status.Phase.Terminal() || r.Status.Phase == krtv1.RunRunning && r.Status.Attempt == 2
		}); err != nil {
			return fmt.Errorf("waiting for attempt 2 to run: %w", err)
		}
		rerun = append(rerun, ms(time.Since(killed)))
		fmt.Fprintf(os.Stderr, "bench: kill -9 runtimed, repeat %d: retried after %.0fms, running again after %.0fms\n",
			i+1, retried[i], rerun[i])
		if err := b.stack.Pool.RestartRuntimed(ns, pod); err != nil {
			return err
		}
		if err := b.waitPool(ctx, ns); err != nil {
			return fmt.Errorf("waiting for the restarted pod: %w", err)
		}
	}
	lease := b.opts.lease.Seconds() * 1000
	b.results["kill_to_retry_ms"] = round(median(retried))
	b.results["kill_to_rerun_ms"] = round(median(rerun))
	b.results["lease_duration_ms"] = lease
	b.results["kill_to_retry_vs_lease"] = round2(median(retried) / lease)
	return nil
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// waitRun polls a Run until cond holds, within two minutes.
func (b *bench) waitRun(ctx context.Context, run *krtv1.Run, cond func(*krtv1.Run) bool) (*krtv1.Run, error) {
	cur := &krtv1.Run{}
	err := wait.PollUntilContextTimeout(ctx, 10*time.Millisecond, 2*time.Minute, true, func(ctx context.Context) (bool, error) {
		if err := b.env.Client.Get(ctx, client.ObjectKeyFromObject(run), cur); err != nil {
			return false, err
		}
		return cond(cur), nil
	})
	return cur, err
}
