package runtimed

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/durationpb"
	"k8s.io/apimachinery/pkg/types"

	runtimev1 "krt.dev/krt/api/runtime/v1"
	krtv1 "krt.dev/krt/api/v1alpha1"
	"krt.dev/krt/runtimed/logs"
	"krt.dev/krt/runtimed/mask"
)

// execution is this pod's current attempt of one Run.
type execution struct {
	uid     types.UID
	name    string
	attempt int32
	id      string // the Runtime Server's execution id

	stop       context.CancelFunc // ends our stream when we are fenced
	cancelOnce sync.Once
	mu         sync.Mutex
	isFenced   bool
}

func executionID(run *krtv1.Run) string {
	return fmt.Sprintf("%s/%d", run.UID, run.Status.Attempt)
}

// requestCancel asks the Runtime Server to stop the process group; the
// stream then ends with a Cancelled exit as usual.
func (ex *execution) requestCancel(a *Agent, why string) {
	ex.cancelOnce.Do(func() {
		go func() {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			req := &runtimev1.CancelRequest{Id: ex.id, GracePeriod: durationpb.New(a.opts.KillGrace)}
			if _, err := a.runtime.Cancel(ctx, req); err != nil {
				a.opts.Log.Error(err, "cancelling execution", "run", ex.name, "why", why)
			}
		}()
	})
}

// fenced stops the execution for good: nothing it produces may be written.
func (ex *execution) fenced(a *Agent, why string) {
	ex.mu.Lock()
	ex.isFenced = true
	ex.mu.Unlock()
	ex.requestCancel(a, why)
	ex.stop()
}

func (ex *execution) wasFenced() bool {
	ex.mu.Lock()
	defer ex.mu.Unlock()
	return ex.isFenced
}

// start registers the execution and runs it in its own goroutine.
func (a *Agent) start(ctx context.Context, run *krtv1.Run, attach bool) {
	ctx, stop := context.WithCancel(ctx)
	ex := &execution{uid: run.UID, name: run.Name, attempt: run.Status.Attempt, id: executionID(run), stop: stop}
	a.mu.Lock()
	a.active[run.Name] = ex
	a.mu.Unlock()
	go func() {
		defer stop()
		a.execute(ctx, ex, run, attach)
		a.mu.Lock()
		if a.active[run.Name] == ex {
			delete(a.active, run.Name)
		}
		a.mu.Unlock()
	}()
}

func (a *Agent) execute(ctx context.Context, ex *execution, run *krtv1.Run, attach bool) {
	log := a.logs.Open(run.UID)
	defer a.logs.Finish(run.UID)
	res := a.runOnce(ctx, ex, run, attach, log)
	if ex.wasFenced() {
		return
	}
	if _, err := a.writeStatus(ctx, run, a.stillRunning(run), res.apply); err != nil {
		if errors.Is(err, errFenced) {
			a.opts.Log.Info("fenced: the result of this attempt is dropped", "run", run.Name, "attempt", ex.attempt)
		} else {
			// The Runtime Server keeps the result until Forget, so a later
			// adopt can still report it.
			a.opts.Log.Error(err, "writing the result", "run", run.Name)
			a.queue.AddRateLimited(run.Name)
			return
		}
	}
	if _, err := a.runtime.Forget(context.WithoutCancel(ctx), &runtimev1.ForgetRequest{Id: ex.id}); err != nil {
		a.opts.Log.Error(err, "forgetting execution", "run", run.Name)
	}
}

// runOnce resolves the Run's inputs, streams its execution and returns how
// it ended.
func (a *Agent) runOnce(ctx context.Context, ex *execution, run *krtv1.Run, attach bool, log *logs.Log) result {
	req, masker, res := a.request(ctx, run)
	if res != nil {
		return *res
	}
	req.AttachOnly = attach
	if run.Spec.Timeout != nil {
		// The Runtime Server enforces the timeout; this backs it up for a
		// custom server that does not.
		backstop := time.AfterFunc(run.Spec.Timeout.Duration+a.opts.KillGrace+5*time.Second, func() {
			ex.requestCancel(a, "timeout")
		})
		defer backstop.Stop()
	}
	stream, err := a.runtime.Execute(ctx, req)
	if err != nil {
		return runtimeError(err)
	}
	c := newCollector(a, run, masker, log)
	for {
		ev, err := stream.Recv()
		if err == io.EOF {
			break
		}
		if err != nil {
			if attach && status.Code(err) == codes.NotFound {
				return result{phase: krtv1.RunFailed, reason: krtv1.ReasonExecutionLost,
					message: "runtimed restarted and the Runtime Server no longer has this execution"}
			}
			return runtimeError(err)
		}
		c.event(ev)
	}
	c.flush()
	return c.result(run)
}

func runtimeError(err error) result {
	return result{phase: krtv1.RunFailed, reason: krtv1.ReasonRuntimeError,
		message: "runtime server: " + status.Convert(err).Message()}
}

// request builds the ExecuteRequest, reading secretEnv values. A result is
// returned instead when the Run cannot be started at all.
func (a *Agent) request(ctx context.Context, run *krtv1.Run) (*runtimev1.ExecuteRequest, *mask.Masker, *result) {
	req := &runtimev1.ExecuteRequest{
		Id: executionID(run), Script: run.Spec.Script,
		Command: run.Spec.Command, Args: run.Spec.Args,
		Env: make(map[string]string, len(run.Spec.Env)+len(run.Spec.SecretEnv)),
	}
	if run.Spec.Script != "" {
		lang, ok := a.language(run.Spec.Language)
		if !ok {
			return nil, nil, &result{phase: krtv1.RunFailed, reason: krtv1.ReasonUnsupported,
				message: fmt.Sprintf("runtime %q does not run %s scripts; it runs %v", a.opts.Runtime, run.Spec.Language, a.opts.Languages)}
		}
		req.Language = lang
	}
	for _, e := range run.Spec.Env {
		req.Env[e.Name] = e.Value
	}
	secrets, err := a.secretValues(ctx, run)
	if err != nil {
		return nil, nil, &result{phase: krtv1.RunFailed, reason: krtv1.ReasonSecretNotFound, message: err.Error()}
	}
	values := make([]string, 0, len(secrets))
	for k, v := range secrets {
		req.Env[k] = v
		values = append(values, v)
	}
	if run.Spec.Timeout != nil {
		req.Timeout = durationpb.New(run.Spec.Timeout.Duration)
	}
	return req, mask.New(values...), nil
}

func (a *Agent) language(l krtv1.Language) (runtimev1.Language, bool) {
	if l == "" {
		l = a.opts.Languages[0]
	}
	supported := false
	for _, s := range a.opts.Languages {
		supported = supported || s == l
	}
	switch {
	case !supported:
		return 0, false
	case l == krtv1.LanguagePython:
		return runtimev1.Language_LANGUAGE_PYTHON, true
	default:
		return runtimev1.Language_LANGUAGE_BASH, true
	}
}
