package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	krtv1 "krt.dev/krt/api/v1alpha1"
	"krt.dev/krt/runtimed/heartbeat"
)

// isolationRuns is how many Runs each repeat of the isolation figure times.
const isolationRuns = 10

// isolation times create→Succeeded of a no-op Run on a Runtime of each
// isolation mode, in the same run, one Run at a time and each once the
// pool is whole again: for ephemeral that is "while spares last", every
// Run landing on a warm spare while the spent pod is being replaced.
// shared is the baseline the other two are compared with.
func (b *bench) isolation(ctx context.Context) error {
	modes := []krtv1.Isolation{krtv1.IsolationShared, krtv1.IsolationExclusive, krtv1.IsolationEphemeral}
	p50s := map[krtv1.Isolation][]float64{}
	for _, mode := range modes {
		ns, err := b.isolationPool(ctx, mode)
		if err != nil {
			return err
		}
		for i := range b.opts.repeats {
			lat, err := b.serialRuns(ctx, ns, isolationRuns)
			if err != nil {
				return fmt.Errorf("isolation %s: %w", mode, err)
			}
			p50 := percentile(lat, 50)
			fmt.Fprintf(os.Stderr, "bench: isolation %s, repeat %d: create→Succeeded p50 %.1fms max %.1fms over %d Runs\n",
				mode, i+1, p50, lat[len(lat)-1], len(lat))
			p50s[mode] = append(p50s[mode], p50)
		}
		if err := b.env.Client.Delete(ctx, &krtv1.Runtime{ObjectMeta: metav1.ObjectMeta{Name: "noop", Namespace: ns}}); err != nil {
			return err
		}
	}
	figures := map[string]float64{}
	shared := median(p50s[krtv1.IsolationShared])
	for _, mode := range modes {
		p50 := median(p50s[mode])
		figures[string(mode)] = round(p50)
		if shared > 0 && mode != krtv1.IsolationShared {
			b.results["isolation_"+string(mode)+"_vs_shared"] = round2(p50 / shared)
		}
	}
	b.results["isolation_p50_ms"] = figures
	b.results["isolation_ephemeral_vs_1s"] = round2(median(p50s[krtv1.IsolationEphemeral]) / 1000)
	return nil
}

// isolationPool makes a namespace with a no-op Runtime of one mode.
func (b *bench) isolationPool(ctx context.Context, mode krtv1.Isolation) (string, error) {
	ns, err := b.namespace(ctx, "isolation-"+string(mode))
	if err != nil {
		return "", err
	}
	rt := &krtv1.Runtime{ObjectMeta: metav1.ObjectMeta{Name: "noop", Namespace: ns},
		Spec: krtv1.RuntimeSpec{Replicas: ptr.To(int32(b.opts.pods)), Capacity: int32(b.opts.capacity), Isolation: mode}}
	if err := b.env.Client.Create(ctx, rt); err != nil {
		return "", err
	}
	return ns, b.waitWarm(ctx, ns)
}

// serialRuns creates n no-op Runs one after the other, each once the pool
// is warm and whole, and returns their create→Succeeded times, sorted.
func (b *bench) serialRuns(ctx context.Context, ns string, n int) ([]float64, error) {
	lat, err := serialRunsOn(ctx, b.watcher, ns, n, func(ctx context.Context) error { return b.waitWarm(ctx, ns) })
	if err != nil {
		return nil, err
	}
	return lat, b.clean(ctx, ns)
}

// serialRunsOn creates n no-op Runs through c, one after the other, each
// once warm (when given) returns, and returns their create→Succeeded
// times, sorted.
func serialRunsOn(ctx context.Context, c client.WithWatch, ns string, n int, warm func(context.Context) error) ([]float64, error) {
	return serialRunsOf(ctx, c, ns, n, warm, noop)
}

// serialRunsOf is serialRunsOn with Runs that mk makes.
func serialRunsOf(ctx context.Context, c client.WithWatch, ns string, n int, warm func(context.Context) error, mk func(string) *krtv1.Run) ([]float64, error) {
	tr, err := track(ctx, c, ns)
	if err != nil {
		return nil, err
	}
	defer tr.stop()
	for k := range n {
		if warm != nil {
			if err := warm(ctx); err != nil {
				return nil, err
			}
		}
		run := mk(ns)
		sent := time.Now()
		if err := c.Create(ctx, run); err != nil {
			return nil, err
		}
		tr.sent(run.Name, sent)
		tr.drainN(k+1, 60*time.Second)
	}
	if tr.failed > 0 {
		return nil, fmt.Errorf("%d of %d Runs failed", tr.failed, n)
	}
	return tr.latencies(), nil
}

// waitWarm waits until every pod of the pool is up, heartbeating and
// unspent.
func (b *bench) waitWarm(ctx context.Context, ns string) error {
	return wait.PollUntilContextTimeout(ctx, 20*time.Millisecond, 2*time.Minute, true, func(context.Context) (bool, error) {
		pods := b.stack.Pool.Pods(ns, "noop")
		if len(pods) != b.opts.pods {
			return false, nil
		}
		for _, p := range pods {
			l := &coordinationv1.Lease{}
			if b.env.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: p.Name}, l) != nil ||
				!heartbeat.Fresh(l, p.UID, time.Now()) || heartbeat.Spent(l) {
				return false, nil
			}
		}
		return true, nil
	})
}

// printIsolation adds the isolation figures to the table.
func (b *bench) printIsolation(w io.Writer) {
	r := b.results
	p50, ok := r["isolation_p50_ms"].(map[string]float64)
	if !ok {
		return
	}
	fmt.Fprintf(w, "isolation shared: create→Succeeded p50 ms, 1 at a time\t%v\t-\t-\t-\n", p50["shared"])
	fmt.Fprintf(w, "isolation exclusive: the same\t%v\tshared %v ms\t%v\t-\n", p50["exclusive"], p50["shared"], r["isolation_exclusive_vs_shared"])
	fmt.Fprintf(w, "isolation ephemeral (warm spares): the same\t%v\tshared %v ms\t%v\t< 1000 ms (%v of it)\n",
		p50["ephemeral"], p50["shared"], r["isolation_ephemeral_vs_shared"], r["isolation_ephemeral_vs_1s"])
}
