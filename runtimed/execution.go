package runtimed

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/go-logr/logr"
	"google.golang.org/protobuf/types/known/durationpb"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	runtimev1 "krt.dev/krt/api/runtime/v1"
	krtv1 "krt.dev/krt/api/v1alpha1"
)

// execution is this pod's current attempt of one Run.
type execution struct {
	uid     types.UID
	name    string
	attempt int32
	// log carries the Run's keys (run, attempt, workflow, workflowRun, step).
	log  logr.Logger
	id   string             // the Runtime Server's execution id
	stop context.CancelFunc // ends our stream when we are fenced

	mu sync.Mutex
	// started is set once the Runtime Server has the process: a cancel
	// sent earlier would find nothing to stop, so it waits until then.
	started      bool
	cancelWanted bool
	timedOut     bool
	isFenced     bool
	// done is set once the execution has ended and its result is being
	// written: our own write then moves the Run on, which is no fencing.
	done bool

	claim claimState
}

// runLog is the agent's logger with the keys of every line about run.
func (a *Agent) runLog(run *krtv1.Run) logr.Logger {
	return a.opts.Log.WithValues(run.LogValues()...)
}

func executionID(run *krtv1.Run) string {
	return fmt.Sprintf("%s/%d", run.UID, run.Status.Attempt)
}

// requestCancel asks the Runtime Server to stop the process group; the
// stream then ends with a Cancelled exit as usual. Before the process
// exists, the wish is kept and acted on at its start.
func (ex *execution) requestCancel(a *Agent, why string) {
	ex.mu.Lock()
	ex.cancelWanted = true
	started := ex.started
	ex.mu.Unlock()
	if started {
		go a.sendCancel(ex, why)
	}
}

// timeout is requestCancel for runtimed's own timeout backstop.
func (ex *execution) timeout(a *Agent) {
	ex.mu.Lock()
	ex.timedOut = true
	ex.mu.Unlock()
	ex.requestCancel(a, "timeout")
}

// markStarted records that the process exists and sends a cancel that was
// asked for before it did.
func (ex *execution) markStarted(a *Agent) {
	ex.mu.Lock()
	ex.started = true
	wanted := ex.cancelWanted
	ex.mu.Unlock()
	if wanted {
		go a.sendCancel(ex, "cancel requested before the process started")
	}
}

func (ex *execution) state() (cancelWanted, timedOut bool) {
	ex.mu.Lock()
	defer ex.mu.Unlock()
	return ex.cancelWanted, ex.timedOut
}

func (a *Agent) sendCancel(ex *execution, why string) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	req := &runtimev1.CancelRequest{Id: ex.id, GracePeriod: durationpb.New(a.opts.KillGrace)}
	if _, err := a.runtime.Cancel(ctx, req); err != nil {
		ex.log.Error(err, "cancelling execution", "why", why)
	}
}

// fenced stops the execution for good: nothing it produces may be written.
func (ex *execution) fenced(a *Agent, why string) {
	ex.mu.Lock()
	ex.isFenced = true
	done := ex.done
	ex.mu.Unlock()
	if done {
		return
	}
	ex.log.Info("fenced: cancelling our execution", "why", why)
	ex.requestCancel(a, why)
	ex.stop()
}

func (ex *execution) finishing() {
	ex.mu.Lock()
	defer ex.mu.Unlock()
	ex.done = true
}

func (ex *execution) wasFenced() bool {
	ex.mu.Lock()
	defer ex.mu.Unlock()
	return ex.isFenced
}

// start registers the execution and runs it in its own goroutine. A cancel
// already requested is passed on as soon as the process exists. An
// unclaimed Run, still Scheduled, is claimed if it outlasts ClaimAfter.
func (a *Agent) start(ctx context.Context, run *krtv1.Run, attach, unclaimed bool) {
	ctx, stop := context.WithCancel(ctx)
	ex := &execution{uid: run.UID, name: run.Name, attempt: run.Status.Attempt, log: a.runLog(run), id: executionID(run), stop: stop}
	if run.Spec.CancelRequested {
		ex.cancelWanted = true
	}
	ex.claim.run, ex.claim.began = run, metav1.Now()
	if unclaimed && run.Status.Phase == krtv1.RunScheduled {
		ex.claim.Lock()
		ex.claim.pending = true
		ex.claim.timer = time.AfterFunc(a.opts.ClaimAfter, func() { a.lateClaim(ctx, ex) })
		ex.claim.Unlock()
	}
	a.mu.Lock()
	a.active[run.Name] = ex
	a.mu.Unlock()
	go func() {
		defer stop()
		a.execute(ctx, ex, run, attach)
		a.finished.add(ex.id)
		a.mu.Lock()
		if a.active[run.Name] == ex {
			delete(a.active, run.Name)
		}
		a.mu.Unlock()
	}()
}

// recent remembers the executions that ended here lately, so that a late
// watch event showing one still Running does not look like a restart.
type recent struct {
	mu   sync.Mutex
	ids  map[string]struct{}
	ring []string
	next int
}

func newRecent(n int) *recent {
	return &recent{ids: map[string]struct{}{}, ring: make([]string, n)}
}

func (r *recent) add(id string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	delete(r.ids, r.ring[r.next])
	r.ring[r.next] = id
	r.ids[id] = struct{}{}
	r.next = (r.next + 1) % len(r.ring)
}

func (r *recent) has(id string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	_, ok := r.ids[id]
	return ok
}
