package main

import (
	"context"
	"fmt"
	"os"
	"sort"
	"sync"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/apimachinery/pkg/watch"
	"sigs.k8s.io/controller-runtime/pkg/client"

	krtv1 "krt.dev/krt/api/v1alpha1"
)

// tracker watches a namespace's Runs and records when each ended.
type tracker struct {
	mu     sync.Mutex
	sentAt map[string]time.Time
	doneAt map[string]time.Time
	// seen records when each phase was first observed, for the breakdown.
	seen     map[string]map[krtv1.RunPhase]time.Time
	failed   int
	onDone   func()
	cancel   context.CancelFunc
	finished chan struct{}
}

func track(ctx context.Context, c client.WithWatch, ns string) (*tracker, error) {
	list := &krtv1.RunList{}
	if err := c.List(ctx, list, client.InNamespace(ns)); err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(ctx)
	w, err := c.Watch(ctx, &krtv1.RunList{}, client.InNamespace(ns),
		&client.ListOptions{Raw: &metav1.ListOptions{ResourceVersion: list.ResourceVersion}})
	if err != nil {
		cancel()
		return nil, err
	}
	tr := &tracker{sentAt: map[string]time.Time{}, doneAt: map[string]time.Time{},
		seen: map[string]map[krtv1.RunPhase]time.Time{}, cancel: cancel, finished: make(chan struct{})}
	go func() {
		defer close(tr.finished)
		for {
			tr.consume(w)
			if ctx.Err() != nil {
				return
			}
			// The API server ends a watch whose reader falls behind, as
			// on a loaded machine; a tracker that stopped there would
			// stall the figure. Catch up from a list and watch on.
			fmt.Fprintln(os.Stderr, "bench: the Run watch ended; listing and watching again")
			if w = tr.rewatch(ctx, c, ns); w == nil {
				return
			}
		}
	}()
	return tr, nil
}

// consume records the watch's events until it ends.
func (t *tracker) consume(w watch.Interface) {
	defer w.Stop()
	for ev := range w.ResultChan() {
		if run, ok := ev.Object.(*krtv1.Run); ok && ev.Type != watch.Deleted {
			t.observe(run)
		}
	}
}

func (t *tracker) observe(run *krtv1.Run) {
	if run.Status.Phase.Terminal() {
		t.done(run)
	} else {
		t.phase(run)
	}
}

// rewatch lists the namespace's Runs, records them, and watches from
// there; nil once ctx ends.
func (t *tracker) rewatch(ctx context.Context, c client.WithWatch, ns string) watch.Interface {
	for ctx.Err() == nil {
		list := &krtv1.RunList{}
		if err := c.List(ctx, list, client.InNamespace(ns)); err == nil {
			for i := range list.Items {
				t.observe(&list.Items[i])
			}
			w, err := c.Watch(ctx, &krtv1.RunList{}, client.InNamespace(ns),
				&client.ListOptions{Raw: &metav1.ListOptions{ResourceVersion: list.ResourceVersion}})
			if err == nil {
				return w
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	return nil
}

func (t *tracker) done(run *krtv1.Run) {
	t.mu.Lock()
	if _, seen := t.doneAt[run.Name]; seen {
		t.mu.Unlock()
		return
	}
	t.doneAt[run.Name] = time.Now()
	if run.Status.Phase != krtv1.RunSucceeded {
		t.failed++
	}
	onDone := t.onDone
	t.mu.Unlock()
	if onDone != nil {
		onDone()
	}
}

func (t *tracker) phase(run *krtv1.Run) {
	t.mu.Lock()
	defer t.mu.Unlock()
	m := t.seen[run.Name]
	if m == nil {
		m = map[krtv1.RunPhase]time.Time{}
		t.seen[run.Name] = m
	}
	if _, ok := m[run.Status.Phase]; !ok {
		m[run.Status.Phase] = time.Now()
	}
}

// breakdown is the median time from one observed step to the next, in
// milliseconds: sent → Scheduled → done. A no-op Run ends within
// runtimed's --claim-after, so it is never Running; one that is counts
// its time Running within to_done.
func (t *tracker) breakdown() map[string]float64 {
	t.mu.Lock()
	defer t.mu.Unlock()
	var toSched, toDone []float64
	ms := func(a, b time.Time) float64 { return float64(b.Sub(a).Microseconds()) / 1000 }
	for name, sent := range t.sentAt {
		s, ok1 := t.seen[name][krtv1.RunScheduled]
		d, ok2 := t.doneAt[name]
		if ok1 && ok2 {
			toSched, toDone = append(toSched, ms(sent, s)), append(toDone, ms(s, d))
		}
	}
	return map[string]float64{"to_scheduled": round(median(toSched)), "to_done": round(median(toDone))}
}

func (t *tracker) sent(name string, at time.Time) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.sentAt[name] = at
}

func (t *tracker) count() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.doneAt)
}

func (t *tracker) setOnDone(fn func()) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.onDone = fn
}

// drainN waits until n Runs have finished, within timeout.
func (t *tracker) drainN(n int, timeout time.Duration) {
	_ = wait.PollUntilContextTimeout(context.Background(), 20*time.Millisecond, timeout, true, func(context.Context) (bool, error) {
		return t.count() >= n, nil
	})
}

func (t *tracker) stop() {
	t.cancel()
	<-t.finished
}

// latencies are in milliseconds, for Runs both sent and finished.
func (t *tracker) latencies() []float64 {
	t.mu.Lock()
	defer t.mu.Unlock()
	var out []float64
	for name, sent := range t.sentAt {
		if done, ok := t.doneAt[name]; ok {
			out = append(out, float64(done.Sub(sent).Microseconds())/1000)
		}
	}
	sort.Float64s(out)
	return out
}
