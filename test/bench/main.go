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
}

func main() {
	var o options
	flag.StringVar(&o.out, "out", "bench.json", "where to write the figures as JSON")
	flag.IntVar(&o.repeats, "repeats", 3, "repeats per figure; the median is reported")
	flag.DurationVar(&o.window, "window", 8*time.Second, "measuring window of each repeat")
	flag.Float64Var(&o.rate, "rate", 50, "arrival rate of the latency figure, in Runs per second")
	flag.IntVar(&o.pods, "pods", 2, "runtime pods in the warm pool")
	flag.IntVar(&o.capacity, "capacity", 32, "Runs per runtime pod")
	flag.DurationVar(&o.lease, "lease", 5*time.Second, "runtime pods' heartbeat lease duration, the bound on noticing a lost pod")
	flag.StringVar(&o.profiles, "profile-dir", "", "write CPU profiles of the API server, krt-controller and (with -pods 1) runtimed, taken during the first throughput window, to this directory")
	flag.Parse()
	if err := run(o); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

func run(o options) error {
	ctx := context.Background()
	fmt.Fprintln(os.Stderr, "bench: starting kube-apiserver and etcd")
	env, err := kubetest.Start()
	if err != nil {
		return err
	}
	defer env.Stop()
	watcher, err := client.NewWithWatch(env.Config, client.Options{Scheme: env.Scheme})
	if err != nil {
		return err
	}
	b := &bench{opts: o, env: env, watcher: watcher, results: results{}}

	// The baseline first, with nothing else running against the API server.
	if err := b.apiWrites(ctx); err != nil {
		return err
	}
	fmt.Fprintln(os.Stderr, "bench: building krt and starting the controller and the local pool")
	bins, err := kubetest.Build()
	if err != nil {
		return err
	}
	stack, err := kubetest.StartStack(env, bins, o.stackOptions())
	if err != nil {
		return err
	}
	defer stack.Stop()
	b.stack = stack
	for _, fig := range []func(context.Context) error{b.latency, b.throughput, b.killToRetry} {
		if err := fig(ctx); err != nil {
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
	results results
}
