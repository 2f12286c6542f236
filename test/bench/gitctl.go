package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/apimachinery/pkg/watch"
	"sigs.k8s.io/controller-runtime/pkg/client"

	krtv1 "krt.dev/krt/api/v1alpha1"
	"krt.dev/krt/test/kubetest"
)

// gitController is a krt-controller running the source controller alone,
// started for one git figure: its memory and its receiver are then its own,
// and no other source controller reconciles the same repositories.
type gitController struct {
	proc                 *kubetest.Process
	metrics, pprof, hook string // addresses
	cacheDir             string
}

func (b *bench) startGitController(name string) (*gitController, error) {
	c := &gitController{cacheDir: filepath.Join(b.env.Dir, name+"-git-cache")}
	for _, addr := range []*string{&c.metrics, &c.pprof, &c.hook} {
		var err error
		if *addr, err = kubetest.FreeAddress(); err != nil {
			return nil, err
		}
	}
	// Leader election is off unless --enable-leader-election. Flux sources
	// are not read: their CRDs are installed only for krt's tests, and a
	// cluster without Flux would not watch them either.
	p, err := kubetest.StartProcess(b.env.Dir, name, b.bins.Controller,
		"--kubeconfig", b.env.Kubeconfig, "--controllers", "source", "--flux", "false",
		"--metrics-bind-address", c.metrics, "--health-probe-bind-address", "0",
		"--pprof-bind-address", c.pprof, "--webhook-bind-address", c.hook,
		"--git-cache-dir", c.cacheDir, "--enable-leader-election=false")
	if err != nil {
		return nil, err
	}
	c.proc = p
	err = wait.PollUntilContextTimeout(context.Background(), 50*time.Millisecond, 30*time.Second, true, func(context.Context) (bool, error) {
		if p.Exited() {
			return false, fmt.Errorf("%s exited:\n%s", name, p.Tail(20))
		}
		resp, err := http.Get("http://" + c.metrics + "/metrics")
		if err != nil {
			return false, nil
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK, nil
	})
	if err != nil {
		p.Stop()
		return nil, fmt.Errorf("waiting for %s's metrics: %w", name, err)
	}
	return c, nil
}

func (c *gitController) stop() { c.proc.Stop() }

// state explains a stuck figure when the controller has died.
func (c *gitController) state() string {
	if c.proc.Exited() {
		return "\n" + c.proc.Name + " has exited:\n" + c.proc.Tail(20)
	}
	return ""
}

// memory is the controller's heap in use and resident set, in MiB: the
// median of three scrapes a second apart, each right after a GC. Without
// the forced GC the heap would include garbage awaiting collection, and the
// figure would move with the GC's timing rather than with what is held.
func (c *gitController) memory(ctx context.Context) (map[string]float64, error) {
	var samples []map[string]float64
	for i := range 3 {
		if i > 0 {
			time.Sleep(time.Second)
		}
		// pprof's heap endpoint runs a GC first when asked with gc=1.
		if _, err := get(ctx, "http://"+c.pprof+"/debug/pprof/heap?gc=1"); err != nil {
			return nil, err
		}
		raw, err := get(ctx, "http://"+c.metrics+"/metrics")
		if err != nil {
			return nil, err
		}
		parser := expfmt.NewTextParser(model.UTF8Validation)
		families, err := parser.TextToMetricFamilies(raw)
		if err != nil {
			return nil, err
		}
		s := map[string]float64{}
		for key, metric := range map[string]string{"heap_inuse": "go_memstats_heap_inuse_bytes", "rss": "process_resident_memory_bytes"} {
			m := families[metric].GetMetric()
			if len(m) != 1 {
				return nil, fmt.Errorf("the controller's metrics have no %s", metric)
			}
			s[key] = m[0].GetGauge().GetValue() / (1 << 20)
		}
		samples = append(samples, s)
	}
	out := medianByKey(samples)
	for k, v := range out {
		out[k] = round(v)
	}
	return out, nil
}

// reconcileTime is the source controller's own total of reconcile time,
// in milliseconds, and how many reconciles it counts.
func (c *gitController) reconcileTime(ctx context.Context) (total float64, count uint64, err error) {
	raw, err := get(ctx, "http://"+c.metrics+"/metrics")
	if err != nil {
		return 0, 0, err
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(raw)
	if err != nil {
		return 0, 0, err
	}
	for _, m := range families["controller_runtime_reconcile_time_seconds"].GetMetric() {
		for _, l := range m.GetLabel() {
			if l.GetName() == "controller" && l.GetValue() == "source" {
				return m.GetHistogram().GetSampleSum() * 1000, m.GetHistogram().GetSampleCount(), nil
			}
		}
	}
	return 0, 0, fmt.Errorf("the controller's metrics have no reconcile time for the source controller")
}

func get(ctx context.Context, url string) (io.Reader, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err == nil && resp.StatusCode != http.StatusOK {
		err = fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	return bytes.NewReader(data), err
}

// cacheUsage is the git cache on disk: how many repositories it holds
// (one directory per URL) and their total size in MiB.
func (c *gitController) cacheUsage() (repos int, mib float64, err error) {
	entries, err := os.ReadDir(c.cacheDir)
	if err != nil {
		return 0, 0, err
	}
	for _, e := range entries {
		if e.IsDir() {
			repos++
		}
	}
	var size int64
	err = filepath.Walk(c.cacheDir, func(_ string, info os.FileInfo, err error) error {
		if err == nil && info.Mode().IsRegular() {
			size += info.Size()
		}
		return err
	})
	return repos, float64(size) / (1 << 20), err
}

// sightings watches a namespace's Workflows and records when each was
// first seen, waking whoever waits for it: the moment a client following
// the API server would learn that the Workflow exists.
type sightings struct {
	mu       sync.Mutex
	at       map[string]time.Time
	waiting  map[string]chan struct{}
	cancel   context.CancelFunc
	finished chan struct{}
}

func watchWorkflows(ctx context.Context, c client.WithWatch, ns string) (*sightings, error) {
	list := &krtv1.WorkflowList{}
	if err := c.List(ctx, list, client.InNamespace(ns)); err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(ctx)
	w, err := c.Watch(ctx, &krtv1.WorkflowList{}, client.InNamespace(ns),
		&client.ListOptions{Raw: &metav1.ListOptions{ResourceVersion: list.ResourceVersion}})
	if err != nil {
		cancel()
		return nil, err
	}
	s := &sightings{at: map[string]time.Time{}, waiting: map[string]chan struct{}{}, cancel: cancel, finished: make(chan struct{})}
	go func() {
		defer close(s.finished)
		defer w.Stop()
		for ev := range w.ResultChan() {
			if wf, ok := ev.Object.(*krtv1.Workflow); ok && ev.Type != watch.Deleted {
				s.saw(wf.Name, time.Now())
			}
		}
	}()
	return s, nil
}

func (s *sightings) saw(name string, at time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.at[name]; ok {
		return
	}
	s.at[name] = at
	if ch, ok := s.waiting[name]; ok {
		close(ch)
		delete(s.waiting, name)
	}
}

// wait returns when the Workflow was first seen, waiting up to timeout.
func (s *sightings) wait(name string, timeout time.Duration) (time.Time, error) {
	s.mu.Lock()
	if at, ok := s.at[name]; ok {
		s.mu.Unlock()
		return at, nil
	}
	ch, ok := s.waiting[name]
	if !ok {
		ch = make(chan struct{})
		s.waiting[name] = ch
	}
	s.mu.Unlock()
	select {
	case <-ch:
	case <-time.After(timeout):
		return time.Time{}, fmt.Errorf("no Workflow %s seen within %s", name, timeout)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.at[name], nil
}

func (s *sightings) stop() {
	s.cancel()
	<-s.finished
}
