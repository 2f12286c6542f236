// Command bench measures the DESIGN's performance figures on this machine,
// each against a baseline taken in the same run on the same API server, and
// writes them as JSON. Every figure is the median of several repeats, since
// the machine is shared and noisy.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"krt.dev/krt/test/kubetest"
)

type options struct {
	out      string
	repeats  int
	window   time.Duration
	rate     float64
	pods     int
	capacity int
	lease    time.Duration
	profiles string
	only     string
	gates    string
	curves   string
}

func main() {
	var o options
	flag.StringVar(&o.out, "out", "bench.json", "where to write the figures as JSON")
	flag.IntVar(&o.repeats, "repeats", 3, "repeats per figure; the median is reported")
	flag.DurationVar(&o.window, "window", 8*time.Second, "measuring window of each repeat")
	flag.Float64Var(&o.rate, "rate", 50, "arrival rate of the latency figure, in Runs per second")
	flag.IntVar(&o.pods, "pods", 2, "runtime pods in the warm pool")
	flag.IntVar(&o.capacity, "capacity", 32, "Runs per runtime pod; the workflow figures raise it so that the 500-wide fan-out starts at once")
	flag.DurationVar(&o.lease, "lease", 5*time.Second, "runtime pods' heartbeat lease duration, the bound on noticing a lost pod")
	flag.StringVar(&o.profiles, "profile-dir", "", "write CPU profiles of the API server, krt-controller and (with -pods 1) runtimed, taken during the first throughput window, to this directory, the API server's also during the first window of each kind of bare writes (the admin's, as krt's identities make them, and paced at krt's Runs/s), and of the first run of each workflow figure, to its wf-* subdirectory")
	flag.StringVar(&o.only, "only", "", "run one group of figures, while iterating: runs, isolation, autoscale, wf, ui, artifacts, growth, git or node; every figure when empty")
	flag.StringVar(&o.gates, "apiserver-feature-gates", "", "kube-apiserver --feature-gates for this run, e.g. CBORServingAndStorage=true; empty leaves its defaults, as a cluster has them")
	flag.StringVar(&o.curves, "growth-curves", "pods,backlog", "the growth figures' curves: pods (2, 20 and 200 simulated pods), backlog (0 and 10,000 Pending Runs), or both")
	flag.Parse()
	if err := run(o); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

func run(o options) error {
	switch o.only {
	case "", "runs", "isolation", "autoscale", "wf", "ui", "artifacts", "growth", "git", "node":
	default:
		return fmt.Errorf("-only: want runs, isolation, autoscale, wf, ui, artifacts, growth, git or node, not %q", o.only)
	}
	ctx := context.Background()
	fmt.Fprintln(os.Stderr, "bench: starting kube-apiserver and etcd")
	env, err := kubetest.StartWith(kubetest.Options{FeatureGates: o.gates})
	if err != nil {
		return err
	}
	defer env.Stop()
	watcher, err := client.NewWithWatch(env.Config, client.Options{Scheme: env.Scheme})
	if err != nil {
		return err
	}
	b := &bench{opts: o, env: env, watcher: watcher, results: results{"apiserver_feature_gates": o.gates}}

	// The baseline first, with nothing else running against the API server.
	if o.wants("runs") {
		if err := b.apiWrites(ctx); err != nil {
			return err
		}
		if err := b.cborWrites(ctx); err != nil {
			return err
		}
	}
	fmt.Fprintln(os.Stderr, "bench: building krt")
	if b.bins, err = kubetest.Build(); err != nil {
		return err
	}
	// Build leaves its binaries for the life of the process; a bench run
	// is one process, and each run would otherwise leave 300 MB in /tmp.
	defer os.RemoveAll(b.bins.Dir)
	if err := b.stackFigures(ctx); err != nil {
		return err
	}
	if o.wants("runs") {
		if err := b.apiWritesAfter(ctx); err != nil {
			return err
		}
	}
	// The growth curves start a controller of their own, with simulated
	// pods, so the Run stack must have stopped.
	if o.wants("growth") {
		if err := b.growthFigures(ctx); err != nil {
			return err
		}
	}
	// The store's throughput needs no control plane, and a quiet machine.
	if o.wants("artifacts") {
		if err := b.artifactThroughput(ctx); err != nil {
			return err
		}
	}
	// The git figures start their own source controller each, after the
	// Run stack has stopped: no other source controller then reconciles
	// their repositories, and the machine is theirs.
	if o.wants("git") {
		for _, fig := range []func(context.Context) error{b.webhookToWorkflow, b.controllerMemory} {
			if err := fig(ctx); err != nil {
				return err
			}
		}
	}
	// The real node last, alone on the machine: it is the heaviest.
	if o.wants("node") {
		if err := b.nodeFigures(ctx); err != nil {
			return err
		}
	}
	b.print()
	data, err := json.MarshalIndent(b.results, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(o.out, append(data, '\n'), 0o644)
}

// results is the JSON document: figure keys at the top level.
type results map[string]any

type bench struct {
	opts    options
	env     *kubetest.Env
	watcher client.WithWatch
	stack   *kubetest.Stack
	bins    kubetest.Binaries
	results results
}

// wants reports whether a group of figures is to be measured.
func (o options) wants(group string) bool { return o.only == "" || o.only == group }

// stackFigures measures the Run and then the workflow figures on
// krt-controller and the local pool, which stop when they are done.
func (b *bench) stackFigures(ctx context.Context) error {
	var figs []func(context.Context) error
	if b.opts.wants("runs") {
		figs = append(figs, b.latency, b.throughput, b.killToRetry)
	}
	if b.opts.wants("isolation") {
		figs = append(figs, b.isolation)
	}
	if b.opts.wants("autoscale") {
		figs = append(figs, b.autoscale)
	}
	if b.opts.wants("wf") {
		figs = append(figs, b.workflowFigures)
	}
	if b.opts.wants("ui") {
		figs = append(figs, b.uiFigures)
	}
	if b.opts.wants("artifacts") {
		figs = append(figs, b.artifactLatency)
	}
	if b.opts.wants("node") {
		figs = append(figs, b.localSerial)
	}
	if len(figs) == 0 {
		return nil
	}
	fmt.Fprintln(os.Stderr, "bench: starting the controller and the local pool")
	stack, err := kubetest.StartStack(b.env, b.bins, b.opts.stackOptions())
	if err != nil {
		return err
	}
	defer stack.Stop()
	b.stack = stack
	for _, fig := range figs {
		if err := fig(ctx); err != nil {
			return err
		}
	}
	return nil
}

// namespace creates a namespace for one figure, named after it.
func (b *bench) namespace(ctx context.Context, name string) (string, error) {
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: name + "-"}}

	// Created first: the name is the server's, and Go leaves the order of
	// a field read and a call in one return statement unspecified.
	err := b.env.Client.Create(ctx, ns)
	return ns.Name, err
}
