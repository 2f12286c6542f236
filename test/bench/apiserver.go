package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"golang.org/x/sync/errgroup"
	"k8s.io/client-go/kubernetes"

	"krt.dev/krt/test/kubetest"
)

// writeCount reads the API server's own count of write requests (create,
// update, patch, delete) on Runs, their status included, so the bench can
// check the write budget from the server's side.
func (b *bench) writeCount(ctx context.Context) (float64, error) {
	w, err := b.writesByResource(ctx)
	return w["runs"], err
}

// writesByResource is the API server's count of writes to each krt.dev
// resource so far, by resource ("runs", "workflowruns"), and of those
// refused with a 409 ("runs_409").
func (b *bench) writesByResource(ctx context.Context) (map[string]float64, error) {
	cs, err := kubernetes.NewForConfig(b.env.Config)
	if err != nil {
		return nil, err
	}
	raw, err := cs.CoreV1().RESTClient().Get().AbsPath("/metrics").DoRaw(ctx)
	if err != nil {
		return nil, err
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(strings.NewReader(string(raw)))
	if err != nil {
		return nil, err
	}
	out := map[string]float64{}
	// The bytes clients sent in those writes' bodies, by resource
	// ("runs_bytes"): what a WorkflowRun status patch carries per step.
	for _, m := range families["apiserver_request_body_size_bytes"].GetMetric() {
		labels := map[string]string{}
		for _, l := range m.GetLabel() {
			labels[l.GetName()] = l.GetValue()
		}
		if labels["group"] == "krt.dev" {
			out[labels["resource"]+"_bytes"] += m.GetHistogram().GetSampleSum()
		}
	}
	for _, m := range families["apiserver_request_total"].GetMetric() {
		labels := map[string]string{}
		for _, l := range m.GetLabel() {
			labels[l.GetName()] = l.GetValue()
		}
		// Every request, as "all:VERB group/resource": what a Run costs
		// the API server beyond its writes.
		out["all:"+labels["verb"]+" "+labels["group"]+"/"+labels["resource"]] += m.GetCounter().GetValue()
		if labels["group"] != "krt.dev" {
			continue
		}
		switch labels["verb"] {
		case "POST", "PUT", "PATCH", "DELETE", "APPLY":
			out[labels["resource"]] += m.GetCounter().GetValue()
			// A 409 is a write that lost a race (a conflict, or a create
			// of what exists): counted, but also apart, since it is waste.
			if labels["code"] == "409" {
				out[labels["resource"]+"_409"] += m.GetCounter().GetValue()
			}
		}
	}
	return out, nil
}

// Where the krt processes serve pprof when the bench profiles them.
const (
	controllerPprof = "127.0.0.1:6061"
	runtimedPprof   = "127.0.0.1:6062"
)

func (o options) stackOptions() kubetest.StackOptions {
	so := kubetest.StackOptions{LeaseDuration: o.lease}
	if o.profiles == "" {
		return so
	}
	so.ControllerArgs = []string{"--pprof-bind-address", controllerPprof}
	if o.pods == 1 {
		so.RuntimedArgs = []string{"--pprof-bind-address", runtimedPprof}
	}
	return so
}

// profile takes CPU profiles of the API server and the krt processes at
// once, for the given window, into dir.
func (b *bench) profile(ctx context.Context, dir string, window time.Duration) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	secs := fmt.Sprint(int(window.Seconds()))
	var g errgroup.Group
	g.Go(func() error { return b.profileAPIServer(ctx, filepath.Join(dir, "kube-apiserver.prof"), window) })
	targets := map[string]string{"krt-controller": controllerPprof}
	if b.opts.pods == 1 {
		targets["runtimed"] = runtimedPprof
	}
	for name, addr := range targets {
		g.Go(func() error {
			resp, err := http.Get("http://" + addr + "/debug/pprof/profile?seconds=" + secs)
			if err != nil {
				return err
			}
			defer resp.Body.Close()
			raw, err := io.ReadAll(resp.Body)
			if err != nil {
				return err
			}
			return os.WriteFile(filepath.Join(dir, name+".prof"), raw, 0o644)
		})
	}
	return g.Wait()
}

// profileAPIServer takes a CPU profile of the API server alone, for the
// given window, into path.
func (b *bench) profileAPIServer(ctx context.Context, path string, window time.Duration) error {
	cs, err := kubernetes.NewForConfig(b.env.Config)
	if err != nil {
		return err
	}
	raw, err := cs.CoreV1().RESTClient().Get().AbsPath("/debug/pprof/profile").Param("seconds", fmt.Sprint(int(window.Seconds()))).DoRaw(ctx)
	if err != nil {
		return err
	}
	return os.WriteFile(path, raw, 0o644)
}
