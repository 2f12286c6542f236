package runtimed

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/durationpb"
	"k8s.io/apimachinery/pkg/util/wait"

	runtimev1 "krt.dev/krt/api/runtime/v1"
	krtv1 "krt.dev/krt/api/v1alpha1"
	"krt.dev/krt/runtimed/logs"
	"krt.dev/krt/runtimed/mask"
)

func (a *Agent) execute(ctx context.Context, ex *execution, run *krtv1.Run, attach bool) {
	log := a.logs.Open(run.UID)
	if attach {
		log.Reset() // attaching replays the output from the start
	}
	defer a.logs.Finish(run.UID)
	began := time.Now()
	res := a.runOnce(ctx, ex, run, attach, log)
	cur := ex.settle()
	if ex.wasFenced() {
		a.metrics.observe("fenced", began)
		a.forget(ex)
		return
	}
	a.metrics.observe(string(res.phase), began)
	a.archiveLog(ctx, run, log, res.store)
	ex.finishing()
	if res.apply(cur.DeepCopy()) {
		// The next attempt must find a clean working directory, wherever
		// it runs: drop this one before the Run can be scheduled again.
		a.forget(ex)
	}
	switch err := a.writeResult(ctx, ex, cur, res); {
	case errors.Is(err, errFenced):
		ex.log.Info("fenced: the result of this attempt is dropped")
	case err != nil:
		// runtimed is stopping. The Runtime Server keeps the result until
		// Forget, so the adopt after its restart can still report it.
		return
	}
	a.forget(ex)
}

// writeResult writes how the attempt ended, over the Run as this pod last
// wrote it: Running, or Scheduled if it ended before its claim. An API
// error is retried here, with backoff, for as long as runtimed lives: the
// execution holds the result, and the Run its slot, until it lands or the
// Run moves on (errFenced).
func (a *Agent) writeResult(ctx context.Context, ex *execution, cur *krtv1.Run, res result) error {
	backoff := wait.Backoff{Duration: 200 * time.Millisecond, Factor: 2, Jitter: 0.1, Steps: math.MaxInt32, Cap: 30 * time.Second}
	var fenced error
	err := wait.ExponentialBackoffWithContext(ctx, backoff, func(ctx context.Context) (bool, error) {
		_, err := a.writeStatus(ctx, cur, a.stillHeld(cur), func(r *krtv1.Run) {
			if r.Status.StartTime == nil {
				began := ex.claim.began
				r.Status.StartTime = &began
			}
			res.apply(r)
		})
		switch {
		case err == nil:
			return true, nil
		case errors.Is(err, errFenced):
			fenced = err
			return true, nil
		}
		ex.log.Error(err, "writing the result; trying again")
		return false, nil
	})
	if err != nil {
		return err
	}
	return fenced
}

// forget drops the execution and its working directory on the Runtime
// Server; forgetting twice is harmless.
func (a *Agent) forget(ex *execution) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := a.runtime.Forget(ctx, &runtimev1.ForgetRequest{Id: ex.id}); err != nil {
		ex.log.Error(err, "forgetting execution")
	}
}

// runOnce resolves the Run's inputs, streams its execution and returns how
// it ended.
func (a *Agent) runOnce(ctx context.Context, ex *execution, run *krtv1.Run, attach bool, log *logs.Log) result {
	req, masker, secrets, res := a.request(ctx, run)
	if res != nil {
		return *res
	}
	if wanted, _ := ex.state(); wanted && !attach {
		return result{phase: krtv1.RunCancelled, reason: krtv1.ReasonCancelled, message: "cancelled before it started"}
	}
	var data *dataRun
	if hasData(run) {
		// On attach the inputs are in place already; only the store is
		// needed, for the outputs.
		if data, res = a.prepareOrAttach(ctx, run, req.Id, secrets, attach); res != nil {
			return *res
		}
	}
	req.AttachOnly = attach
	if run.Spec.Timeout != nil {
		// The Runtime Server enforces the timeout; this backs it up for a
		// custom server that does not.
		backstop := time.AfterFunc(run.Spec.Timeout.Duration+a.opts.KillGrace+5*time.Second, func() { ex.timeout(a) })
		defer backstop.Stop()
	}
	c := newCollector(a, run, masker, log)
	for tries := 0; ; tries++ {
		err := a.stream(ctx, ex, req, c)
		if err == nil {
			break
		}
		if status.Code(err) == codes.NotFound && req.AttachOnly {
			return a.lost(run)
		}
		if ctx.Err() != nil || tries == reattachTries {
			return runtimeError(err)
		}
		// The stream broke but the process may live on: attach again and
		// read on from where we were, rather than orphan it.
		ex.log.Error(err, "the execution stream broke; attaching again")
		time.Sleep(time.Duration(tries+1) * 200 * time.Millisecond)
		req = &runtimev1.ExecuteRequest{Id: req.Id, AttachOnly: true, LogOffset: c.offset}
	}
	c.flush()
	cancelled, timedOut := ex.state()
	out := c.result(run, cancelled && timedOut, cancelled)
	if data != nil {
		a.finish(ctx, run, req.Id, data, &out)
		out.store = data.st
	}
	return out
}

// reattachTries bounds how often a broken stream is resumed.
const reattachTries = 3

// stream runs one Execute call to its end, feeding the collector.
func (a *Agent) stream(ctx context.Context, ex *execution, req *runtimev1.ExecuteRequest, c *collector) error {
	stream, err := a.runtime.Execute(ctx, req)
	if err != nil {
		return err
	}
	for {
		ev, err := stream.Recv()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		if ev.GetStarted() != nil {
			ex.markStarted(a)
		}
		c.event(ev)
	}
}

// lost is the result for a Running Run whose execution the Runtime Server
// does not have. If the server has been up since before the claim, the
// process was never started (runtimed died between its claim and Execute),
// and the attempt does not count.
func (a *Agent) lost(run *krtv1.Run) result {
	res := result{phase: krtv1.RunFailed, reason: krtv1.ReasonExecutionLost,
		message: "the Runtime Server no longer has this execution (did its container restart?)"}
	if st := run.Status.StartTime; st != nil && !a.serverStarted.IsZero() && a.serverStarted.Before(st.Time) {
		res.message = "runtimed stopped between claiming the Run and starting it"
		res.neverStarted = true
	}
	return res
}

func runtimeError(err error) result {
	return result{phase: krtv1.RunFailed, reason: krtv1.ReasonRuntimeError,
		message: "runtime server: " + status.Convert(err).Message()}
}

// request builds the ExecuteRequest, reading secretEnv values. A result is
// returned instead when the Run cannot be started at all.
func (a *Agent) request(ctx context.Context, run *krtv1.Run) (*runtimev1.ExecuteRequest, *mask.Masker, secretCache, *result) {
	req := &runtimev1.ExecuteRequest{
		Id: executionID(run), Script: run.Spec.Script,
		Command: run.Spec.Command, Args: run.Spec.Args,
		Env: make(map[string]string, len(run.Spec.Env)+len(run.Spec.SecretEnv)),
	}
	if run.Spec.Script != "" {
		lang, ok := a.language(run.Spec.Language)
		if !ok {
			return nil, nil, nil, &result{phase: krtv1.RunFailed, reason: krtv1.ReasonUnsupported,
				message: fmt.Sprintf("runtime %q does not run %s scripts; it runs %v", a.opts.Runtime, run.Spec.Language, a.opts.Languages)}
		}
		req.Language = lang
	}
	for _, e := range run.Spec.Env {
		req.Env[e.Name] = e.Value
	}
	// Who is running: execution is at least once, so a step can use these
	// to make its effects idempotent.
	req.Env["KRT_RUN"] = run.Name
	req.Env["KRT_RUN_UID"] = string(run.UID)
	req.Env["KRT_NAMESPACE"] = run.Namespace
	req.Env["KRT_ATTEMPT"] = strconv.Itoa(int(run.Status.Attempt))
	req.Env["KRT_POD"] = a.opts.Pod.Name
	cache := secretCache{}
	secrets, err := a.secretValues(ctx, run, cache)
	if err != nil {
		return nil, nil, nil, &result{phase: krtv1.RunFailed, reason: krtv1.ReasonSecretNotFound, message: err.Error()}
	}
	values := make([]string, 0, len(secrets))
	for k, v := range secrets {
		req.Env[k] = v
		values = append(values, v)
	}
	if req.SecretFiles, err = a.secretFiles(ctx, run, cache); err != nil {
		return nil, nil, nil, &result{phase: krtv1.RunFailed, reason: krtv1.ReasonSecretNotFound, message: err.Error()}
	}
	for _, sf := range req.SecretFiles {
		for _, v := range sf.Files {
			values = append(values, string(v))
		}
	}
	if run.Spec.Timeout != nil {
		req.Timeout = durationpb.New(run.Spec.Timeout.Duration)
	}
	return req, mask.New(values...), cache, nil
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
