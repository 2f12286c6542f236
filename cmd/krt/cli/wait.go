package cli

import (
	"context"
	"fmt"
	"time"

	"sigs.k8s.io/controller-runtime/pkg/client"

	krtv1 "krt.dev/krt/api/v1alpha1"
	"krt.dev/krt/cmd/krt/runops"
)

// Exit codes of `krt run --wait`, after the Run's result, as timeout(1)
// and shells use them.
const (
	exitTimeout   = 124
	exitCancelled = 130
)

// watchRun calls fn with the Run now and after each change, until fn
// returns true or ctx ends.
func watchRun(ctx context.Context, c client.WithWatch, key client.ObjectKey, fn func(*krtv1.Run) bool) error {
	return watchObject(ctx, c, key, func() *krtv1.Run { return &krtv1.Run{} }, &krtv1.RunList{}, "the Run", fn)
}

// watchObject calls fn with the object now and after each change, until
// fn returns true or ctx ends. The watch starts at the version read, so no
// change between the read and the watch is missed.
func watchObject[T client.Object](ctx context.Context, c client.WithWatch, key client.ObjectKey,
	newObj func() T, list client.ObjectList, what string, fn func(T) bool) error {
	return runops.WatchObject(ctx, c, key, newObj, list, what, fn)
}

// waitAndFollow shows progress on stderr, streams the Run's output to
// stdout once it runs, and turns the Run's result into an exit code.
func (r *root) waitAndFollow(ctx context.Context, c client.WithWatch, run *krtv1.Run) error {
	start := time.Now()
	key := client.ObjectKeyFromObject(run)
	var (
		last      krtv1.RunPhase
		following chan struct{}
		final     *krtv1.Run
	)
	err := watchRun(ctx, c, key, func(cur *krtv1.Run) bool {
		if cur.Status.Phase != last {
			last = cur.Status.Phase
			r.progress(cur, time.Since(start))
		}
		if following == nil && cur.Status.AssignedPod != "" && (cur.Status.Phase == krtv1.RunRunning || cur.Status.Phase.Terminal()) {
			following = make(chan struct{})
			go func(cur *krtv1.Run) {
				defer close(following)
				src, err := r.hubLogSource()
				if err == nil {
					err = r.streamLogs(ctx, src, cur, true)
				}
				if err != nil {
					fmt.Fprintf(r.Err, "warning: logs: %v\n", err)
				}
			}(cur.DeepCopy())
		}
		if cur.Status.Phase.Terminal() {
			final = cur
			return true
		}
		return false
	})
	if err != nil {
		return err
	}
	if following != nil {
		select {
		case <-following:
		case <-time.After(10 * time.Second):
		}
	}
	return resultError(final)
}

func (r *root) progress(run *krtv1.Run, elapsed time.Duration) {
	at := elapsed.Round(time.Millisecond)
	switch p := run.Status.Phase; {
	case p == "" || p == krtv1.RunPending:
		msg := "waiting for a runtime pod"
		if run.Status.Message != "" {
			msg = run.Status.Message
		}
		fmt.Fprintf(r.Err, "[%s] Pending: %s\n", at, msg)
	case p == krtv1.RunScheduled:
		fmt.Fprintf(r.Err, "[%s] Scheduled on %s\n", at, run.Status.AssignedPod)
	case p == krtv1.RunRunning:
		fmt.Fprintf(r.Err, "[%s] Running on %s (attempt %d)\n", at, run.Status.AssignedPod, run.Status.Attempt)
	default:
		fmt.Fprintf(r.Err, "[%s] %s: %s\n", at, p, run.Status.Message)
	}
}

// resultError maps a finished Run onto krt's exit code.
func resultError(run *krtv1.Run) error {
	switch run.Status.Phase {
	case krtv1.RunSucceeded:
		return nil
	case krtv1.RunTimeout:
		return &ExitError{Code: exitTimeout}
	case krtv1.RunCancelled:
		return &ExitError{Code: exitCancelled}
	}
	if run.Status.ExitCode != nil && *run.Status.ExitCode > 0 && *run.Status.ExitCode < 256 {
		return &ExitError{Code: int(*run.Status.ExitCode)}
	}
	return &ExitError{Code: 1}
}
