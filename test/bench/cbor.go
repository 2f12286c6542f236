package main

import (
	"context"
	"fmt"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	"k8s.io/apimachinery/pkg/runtime/serializer/cbor"
	clientfeatures "k8s.io/client-go/features"
	"k8s.io/client-go/rest"

	krtv1 "krt.dev/krt/api/v1alpha1"
)

// cborWrites is issue 17's CBOR lever, measured: a Run's four writes from
// clients that speak JSON and CBOR in turn, on the same API server, which
// must serve CBOR for custom resources (CBORServingAndStorage, alpha in
// 1.37). controller-runtime's typed client builds its codecs without CBOR
// and cannot speak it, so these are client-go REST clients.
func (b *bench) cborWrites(ctx context.Context) error {
	if !strings.Contains(b.opts.gates, "CBORServingAndStorage=true") {
		return nil
	}
	// Off by default in client-go 0.37 (alpha); without it a REST client
	// silently scrubs CBOR back to JSON.
	if err := clientfeatures.FeatureGates().(interface {
		Set(clientfeatures.Feature, bool) error
	}).Set(clientfeatures.ClientsAllowCBOR, true); err != nil {
		return err
	}
	ns, err := b.namespace(ctx, "cbor")
	if err != nil {
		return err
	}
	clients := map[string]rest.Interface{}
	for _, ct := range []string{runtime.ContentTypeJSON, runtime.ContentTypeCBOR} {
		if clients[ct], err = krtREST(b.env.Config, b.env.Scheme, ct); err != nil {
			return err
		}
	}
	rates, cpus := map[string][]float64{}, map[string][]map[string]float64{}
	for i := range b.opts.repeats {
		for _, ct := range []string{runtime.ContentTypeJSON, runtime.ContentTypeCBOR} { // alternate: same machine state
			rate, cpu, err := b.writeLoad(ctx, func() error { return restFourWrites(ctx, clients[ct], ns) })
			if err != nil {
				return fmt.Errorf("%s: %w", ct, err)
			}
			fmt.Fprintf(os.Stderr, "bench: four writes in %s, repeat %d: %.0f writes/s, kube-apiserver %.2f ms per 4\n", ct, i+1, rate, cpu["kube-apiserver"])
			rates[ct], cpus[ct] = append(rates[ct], rate), append(cpus[ct], cpu)
		}
	}
	out := map[string]any{}
	for ct, name := range map[string]string{runtime.ContentTypeJSON: "json", runtime.ContentTypeCBOR: "cbor"} {
		out[name] = map[string]any{"writes_per_second": round(median(rates[ct])), "cpu_ms_per_four_writes": medianByKey(cpus[ct])}
	}
	b.results["cbor_vs_json_four_writes"] = out
	return b.clean(ctx, ns)
}

// krtREST is a REST client for krt.dev/v1alpha1 that sends and accepts
// one content type, with codecs that include CBOR.
func krtREST(cfg *rest.Config, s *runtime.Scheme, contentType string) (rest.Interface, error) {
	c := rest.CopyConfig(cfg)
	gv := krtv1.GroupVersion
	c.GroupVersion, c.APIPath = &gv, "/apis"
	c.ContentType, c.AcceptContentTypes = contentType, contentType
	c.NegotiatedSerializer = serializer.NewCodecFactory(s, serializer.WithSerializer(cbor.NewSerializerInfo)).WithoutConversion()
	return rest.RESTClientFor(c)
}

// restFourWrites is fourWrites through a REST client.
func restFourWrites(ctx context.Context, c rest.Interface, ns string) error {
	run := &krtv1.Run{ObjectMeta: metav1.ObjectMeta{GenerateName: "c-", Namespace: ns},
		Spec: krtv1.RunSpec{Runtime: "baseline", Command: []string{"true"}}}
	if err := c.Post().Namespace(ns).Resource("runs").Body(run).Do(ctx).Into(run); err != nil {
		return err
	}
	now := metav1.Now()
	for _, step := range []func(){
		func() {
			run.Status.Phase, run.Status.AssignedPod, run.Status.AssignedPodUID, run.Status.Attempt = krtv1.RunScheduled, "pod", "uid", 1
		},
		func() { run.Status.Phase, run.Status.StartTime = krtv1.RunRunning, &now },
		func() { run.Finish(krtv1.RunSucceeded, krtv1.ReasonSucceeded, "exit code 0", time.Now()) },
	} {
		step()
		if err := c.Put().Namespace(ns).Resource("runs").Name(run.Name).SubResource("status").Body(run).Do(ctx).Into(run); err != nil {
			return err
		}
	}
	return nil
}

// writeLoad runs one Run's four writes from many clients for a window and
// returns the write rate and each process's CPU per four writes.
func (b *bench) writeLoad(ctx context.Context, four func() error) (float64, map[string]float64, error) {
	var writes atomic.Int64
	var firstErr atomic.Value
	cpu0 := cpuByProcess(krtProcesses...)
	start := time.Now()
	deadline := start.Add(b.opts.window)
	var wg sync.WaitGroup
	for range writers {
		wg.Go(func() {
			for time.Now().Before(deadline) {
				if err := four(); err != nil {
					firstErr.CompareAndSwap(nil, err)
					return
				}
				writes.Add(4)
			}
		})
	}
	wg.Wait()
	if err, ok := firstErr.Load().(error); ok {
		return 0, nil, err
	}
	rate := float64(writes.Load()) / time.Since(start).Seconds()
	return rate, cpuPerRun(cpu0, cpuByProcess(krtProcesses...), int(writes.Load()/4)), nil
}

// printCBOR prints the CBOR comparison, when this run made it.
func (b *bench) printCBOR() {
	out, ok := b.results["cbor_vs_json_four_writes"].(map[string]any)
	if !ok {
		return
	}
	fmt.Printf("\nA Run's four writes from REST clients, JSON against CBOR (%s): writes/s; CPU ms per four writes\n", b.opts.gates)
	for _, name := range []string{"json", "cbor"} {
		f := out[name].(map[string]any)
		cpu := f["cpu_ms_per_four_writes"].(map[string]float64)
		fmt.Printf("  %-5s %6v/s  kube-apiserver %.2f  etcd %.2f  bench %.2f\n", name, f["writes_per_second"], cpu["kube-apiserver"], cpu["etcd"], cpu["bench"])
	}
}
