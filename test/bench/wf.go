package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	krtv1 "krt.dev/krt/api/v1alpha1"
)

// The workflow figures measure what the engine adds to the Runs a
// workflow is made of: each against the same Runs created bare, in the
// same namespace and pool, alternating so both see the same machine.
const (
	// wfRuntime is the Runtime the figures' steps name.
	wfRuntime = "bash"
	// chainSteps is the DESIGN's chain: ≤ 10 ms per step over bare Runs (issue 17).
	chainSteps          = 100
	chainTargetPerStep  = goalChainMsPerStep
	fanOutWidth         = 500
	forEachMaxItems     = 1000 // api/v1alpha1 ForEach.Items MaxItems
	bigRunNodes         = 2 * forEachMaxItems
	etcdObjectLimitByte = 1.5 * 1024 * 1024 // etcd's default --max-request-bytes
)

// workflowFigures measures the workflow figures in a namespace of their
// own, with a pool large enough to start the whole fan-out at once.
func (b *bench) workflowFigures(ctx context.Context) error {
	// The Run figures' pools would go on heartbeating and watching; these
	// figures want the machine to themselves.
	if err := b.stopPools(ctx); err != nil {
		return err
	}
	ns, err := b.namespace(ctx, "wf")
	if err != nil {
		return err
	}
	slots := (fanOutWidth + b.opts.pods - 1) / b.opts.pods
	rt := &krtv1.Runtime{ObjectMeta: metav1.ObjectMeta{Name: wfRuntime, Namespace: ns},
		Spec: krtv1.RuntimeSpec{Replicas: ptr.To(int32(b.opts.pods)), Capacity: int32(max(b.opts.capacity, slots))}}
	if err := b.env.Client.Create(ctx, rt); err != nil {
		return err
	}
	if err := b.waitPoolOf(ctx, ns, wfRuntime); err != nil {
		return err
	}
	b.results["wf_pool"] = map[string]int{"pods": b.opts.pods, "capacity_per_pod": int(rt.Spec.Capacity)}
	if err := b.warmWorkflows(ctx, ns); err != nil {
		return err
	}
	for _, fig := range []func(context.Context, string) error{b.chainOverhead, b.fanOut, b.bigRunSize} {
		if err := fig(ctx, ns); err != nil {
			return err
		}
	}
	return b.env.Client.Delete(ctx, rt)
}

// stopPools deletes every Runtime there is, which stops its local pods.
func (b *bench) stopPools(ctx context.Context) error {
	list := &krtv1.RuntimeList{}
	if err := b.env.Client.List(ctx, list); err != nil {
		return err
	}
	for i := range list.Items {
		if err := b.env.Client.Delete(ctx, &list.Items[i]); err != nil {
			return err
		}
	}
	return nil
}

// warmWorkflows runs a short chain both ways first, so the first measured
// repeat does not pay for cold caches and connections.
func (b *bench) warmWorkflows(ctx context.Context, ns string) error {
	wf, err := b.createWorkflow(ctx, ns, "warm", chainSpec(5))
	if err != nil {
		return err
	}
	if _, _, err := b.runWorkflow(ctx, wf); err != nil {
		return err
	}
	_, err = b.measure(ctx, ns, []int{1, 1, 1, 1, 1}, func(tr *tracker) (time.Duration, error) {
		return b.bareWaves(ctx, ns, []int{1, 1, 1, 1, 1}, tr)
	})
	return err
}

// chainOverhead is the DESIGN's workflow overhead: a 100-step chain
// against 100 bare Runs, each created once the one before has succeeded.
func (b *bench) chainOverhead(ctx context.Context, ns string) error {
	waves := make([]int, chainSteps)
	for i := range waves {
		waves[i] = 1
	}
	p, err := b.paired(ctx, ns, "chain", chainSpec(chainSteps), waves)
	if err != nil {
		return err
	}
	over := make([]float64, len(p.wf))
	for i := range p.wf {
		over[i] = (p.wf[i] - p.bare[i]) / chainSteps
	}
	perStep := median(over)
	b.results["wf_chain_overhead_ms_per_step"] = round(perStep)
	b.results["wf_chain_overhead_ms_per_step_samples"] = rounds(over)
	b.results["wf_chain_overhead_vs_target"] = round2(perStep / chainTargetPerStep)
	return nil
}

// fanOut is one step over 500 items and one step after it, against 500
// bare Runs created at once and, once they have all succeeded, one more.
func (b *bench) fanOut(ctx context.Context, ns string) error {
	spec := krtv1.WorkflowSpec{Steps: []krtv1.Step{forEachStep("wide", fanOutWidth), wfStep("after", "wide")}}
	_, err := b.paired(ctx, ns, "fanout", spec, []int{fanOutWidth, 1})
	return err
}

// pairs are one figure's repeats, in milliseconds, in the order taken.
type pairs struct{ wf, bare []float64 }

// paired measures a workflow and its bare baseline, alternating, and
// records both with what each cost per node in CPU and API writes.
func (b *bench) paired(ctx context.Context, ns, key string, spec krtv1.WorkflowSpec, waves []int) (pairs, error) {
	wf, err := b.createWorkflow(ctx, ns, key, spec)
	if err != nil {
		return pairs{}, err
	}
	var p pairs
	var wfCost, bareCost []map[string]float64
	for i := range b.opts.repeats {
		bare, err := b.measure(ctx, ns, waves, func(tr *tracker) (time.Duration, error) { return b.bareWaves(ctx, ns, waves, tr) })
		if err != nil {
			return p, fmt.Errorf("%s, bare Runs: %w", key, err)
		}
		run, err := b.measure(ctx, ns, waves, func(*tracker) (time.Duration, error) { return b.profiledRun(ctx, wf, key, i) })
		if err != nil {
			return p, fmt.Errorf("%s, workflow: %w", key, err)
		}
		fmt.Fprintf(os.Stderr, "bench: %s, repeat %d: workflow %.0fms, bare Runs %.0fms; per node, workflow %v, bare %v\n",
			key, i+1, run.ms, bare.ms, run.perNode, bare.perNode)
		p.wf, p.bare = append(p.wf, run.ms), append(p.bare, bare.ms)
		wfCost, bareCost = append(wfCost, run.perNode), append(bareCost, bare.perNode)
	}
	w, bare := median(p.wf), median(p.bare)
	prefix := "wf_" + key
	b.results[prefix+"_ms"] = round(w)
	b.results[prefix+"_ms_samples"] = rounds(p.wf)
	b.results[prefix+"_bare_ms"] = round(bare)
	b.results[prefix+"_bare_ms_samples"] = rounds(p.bare)
	b.results[prefix+"_vs_bare"] = round2(w / bare)
	b.results[prefix+"_per_node"] = map[string]map[string]float64{"workflow": medianByKey(wfCost), "bare": medianByKey(bareCost)}
	return p, nil
}

// profiledRun runs wf once; the first repeat of each figure is profiled
// when -profile-dir is given, into a directory named after the figure.
func (b *bench) profiledRun(ctx context.Context, wf *krtv1.Workflow, key string, repeat int) (time.Duration, error) {
	if repeat > 0 || b.opts.profiles == "" {
		_, d, err := b.runWorkflow(ctx, wf)
		return d, err
	}
	profiled := make(chan error, 1)
	go func() { profiled <- b.profile(ctx, filepath.Join(b.opts.profiles, "wf-"+key), b.opts.window) }()
	_, d, err := b.runWorkflow(ctx, wf)
	if perr := <-profiled; err == nil {
		err = perr
	}
	return d, err
}
