package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"krt.dev/krt/api/scheme"
	krtv1 "krt.dev/krt/api/v1alpha1"
	"krt.dev/krt/runtimed/heartbeat"
	"krt.dev/krt/test/kubetest"
	"krt.dev/krt/test/node"
)

// nodeRuns is how many Runs each repeat of the real-node figure times.
const nodeRuns = 20

// localSerial is the real node's baseline: the same serial no-op Runs
// on the local pool, in this run.
func (b *bench) localSerial(ctx context.Context) error {
	ns, err := b.isolationPool(ctx, krtv1.IsolationShared)
	if err != nil {
		return err
	}
	var p50s, p99s []float64
	for range b.opts.repeats {
		lat, err := b.serialRuns(ctx, ns, nodeRuns)
		if err != nil {
			return fmt.Errorf("local pool: %w", err)
		}
		p50s, p99s = append(p50s, percentile(lat, 50)), append(p99s, percentile(lat, 99))
	}
	b.results["local_serial_ms"] = map[string]float64{"p50": round(median(p50s)), "p99": round(median(p99s))}
	return b.env.Client.Delete(ctx, &krtv1.Runtime{ObjectMeta: metav1.ObjectMeta{Name: "noop", Namespace: ns}})
}

// nodeFigures starts a real node (test/node), installs krt's chart on it
// with images built from the tree, and times the node's cold start, a
// runtime pod's create→Ready, and create→Succeeded of no-op Runs on real
// pods, one at a time.
func (b *bench) nodeFigures(ctx context.Context) error {
	root, err := kubetest.RepoRoot()
	if err != nil {
		return err
	}
	fmt.Fprintln(os.Stderr, "bench: building krt's images and starting a real node")
	images, err := node.BuildKrtImages(ctx, root)
	if err != nil {
		return err
	}
	defer os.RemoveAll(images)
	n, err := node.Start(ctx, node.KrtOptions(root, images))
	if err != nil {
		return err
	}
	defer n.Stop()
	if err := n.InstallChart(ctx, root); err != nil {
		return err
	}
	c, err := client.NewWithWatch(n.Config, client.Options{Scheme: scheme.New()})
	if err != nil {
		return err
	}
	var readies, p50s, p99s []float64
	for i := range b.opts.repeats {
		ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: "node-"}}
		if err := c.Create(ctx, ns); err != nil {
			return err
		}
		ready, err := nodePool(ctx, c, ns.Name)
		if err != nil {
			return fmt.Errorf("%w\n%s", err, n.Describe(ctx, ns.Name))
		}
		lat, err := serialRunsOn(ctx, c, ns.Name, nodeRuns, nil)
		if err != nil {
			return fmt.Errorf("real node: %w\n%s", err, n.Describe(ctx, ns.Name))
		}
		fmt.Fprintf(os.Stderr, "bench: real node, repeat %d: runtime pod Ready in %.1fs, create→Succeeded p50 %.1fms p99 %.1fms\n",
			i+1, ready.Seconds(), percentile(lat, 50), percentile(lat, 99))
		readies = append(readies, ready.Seconds())
		p50s, p99s = append(p50s, percentile(lat, 50)), append(p99s, percentile(lat, 99))
	}
	b.results["node_cold_start_s"] = round(n.NodeReady.Seconds())
	b.results["node_runtime_pod_ready_s"] = round(median(readies))
	b.results["node_serial_ms"] = map[string]float64{"p50": round(median(p50s)), "p99": round(median(p99s))}
	if local, ok := b.results["local_serial_ms"].(map[string]float64); ok && local["p50"] > 0 {
		b.results["node_serial_p50_vs_local"] = round2(median(p50s) / local["p50"])
	}
	return nil
}

// nodePool creates a one-pod Runtime of the Debian bash + python3 image
// and returns how long its pod took to be Ready and heartbeating.
func nodePool(ctx context.Context, c client.Client, ns string) (time.Duration, error) {
	start := time.Now()
	rt := &krtv1.Runtime{ObjectMeta: metav1.ObjectMeta{Name: "noop", Namespace: ns}, Spec: krtv1.RuntimeSpec{
		Image: node.PythonImage, Replicas: ptr.To(int32(1)), Capacity: 4}}
	if err := c.Create(ctx, rt); err != nil {
		return 0, err
	}
	err := waitNodeWarm(ctx, c, ns)
	return time.Since(start), err
}

// waitNodeWarm waits for the Runtime's one pod to be Ready with a fresh
// heartbeat.
func waitNodeWarm(ctx context.Context, c client.Client, ns string) error {
	return wait.PollUntilContextTimeout(ctx, 20*time.Millisecond, 3*time.Minute, true, func(context.Context) (bool, error) {
		pods := &corev1.PodList{}
		if err := c.List(ctx, pods, client.InNamespace(ns), client.MatchingLabels{krtv1.LabelRuntime: "noop"}); err != nil {
			return false, err
		}
		for _, p := range pods.Items {
			l := &coordinationv1.Lease{}
			if p.DeletionTimestamp == nil && p.Status.Phase == corev1.PodRunning &&
				c.Get(ctx, client.ObjectKey{Namespace: ns, Name: p.Name}, l) == nil && heartbeat.Fresh(l, p.UID, time.Now()) {
				return true, nil
			}
		}
		return false, nil
	})
}

// printNode adds the real node's figures to the table.
func (b *bench) printNode(w io.Writer) {
	r := b.results
	nodeMs, ok := r["node_serial_ms"].(map[string]float64)
	if !ok {
		return
	}
	local, _ := r["local_serial_ms"].(map[string]float64)
	fmt.Fprintf(w, "real node: create→Succeeded p50 ms, 1 at a time\t%v\tlocal pool %v ms\t%v\t-\n", nodeMs["p50"], local["p50"], r["node_serial_p50_vs_local"])
	fmt.Fprintf(w, "real node: create→Succeeded p99 ms\t%v\tlocal pool %v ms\t-\t-\n", nodeMs["p99"], local["p99"])
	fmt.Fprintf(w, "real node: cold start to node Ready, s\t%v\t-\t-\t-\n", r["node_cold_start_s"])
	fmt.Fprintf(w, "real node: runtime pod create→Ready, s\t%v\t-\t-\t-\n", r["node_runtime_pod_ready_s"])
}
