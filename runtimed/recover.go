package runtimed

import (
	"context"
	"fmt"
	"time"

	"google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/protobuf/types/known/durationpb"
	"k8s.io/apimachinery/pkg/util/wait"
	"sigs.k8s.io/controller-runtime/pkg/client"

	runtimev1 "krt.dev/krt/api/runtime/v1"
	krtv1 "krt.dev/krt/api/v1alpha1"
)

// waitForRuntime blocks until the Runtime Server reports SERVING: the
// runtime container may start after this sidecar.
func (a *Agent) waitForRuntime(ctx context.Context) error {
	health := grpc_health_v1.NewHealthClient(a.conn)
	return wait.PollUntilContextCancel(ctx, 200*time.Millisecond, true, func(ctx context.Context) (bool, error) {
		ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		defer cancel()
		resp, err := health.Check(ctx, &grpc_health_v1.HealthCheckRequest{})
		return err == nil && resp.GetStatus() == grpc_health_v1.HealthCheckResponse_SERVING, nil
	})
}

// recover runs once at start, before any Run is synced. Executions the
// Runtime Server still has for Runs that are ours at the same attempt,
// Running or (not yet claimed) Scheduled, are left for sync to adopt;
// every other execution belongs to an attempt that moved on while runtimed
// was down, so it is cancelled and forgotten. A Running Run whose
// execution is gone is retried by sync, when its adopt finds nothing to
// attach to.
func (a *Agent) recover(ctx context.Context) error {
	resp, err := a.runtime.List(ctx, &runtimev1.ListRequest{})
	if err != nil {
		return fmt.Errorf("listing the Runtime Server's executions: %w", err)
	}
	a.serverStarted = resp.GetStarted().AsTime()
	runs := &krtv1.RunList{}
	if err := a.cache.List(ctx, runs, client.InNamespace(a.opts.Pod.Namespace)); err != nil {
		return err
	}
	current := map[string]bool{}
	for i := range runs.Items {
		r := &runs.Items[i]
		if a.ours(r) && r.Status.Phase.HoldsCapacity() {
			current[executionID(r)] = true
		}
	}
	for _, e := range resp.GetExecutions() {
		if current[e.GetId()] {
			a.opts.Log.Info("found a running execution to adopt", "execution", e.GetId())
			// A Run that was still unclaimed shows Scheduled: its sync
			// must attach to this execution, not start it again.
			a.onServer.add(e.GetId())
			continue
		}
		a.opts.Log.Info("dropping the execution of an attempt that moved on", "execution", e.GetId())
		go a.drop(context.WithoutCancel(ctx), e.GetId())
	}
	return nil
}

// drop cancels an execution, waits for it to end, and forgets it.
func (a *Agent) drop(ctx context.Context, id string) {
	ctx, cancel := context.WithTimeout(ctx, a.opts.KillGrace+time.Minute)
	defer cancel()
	if _, err := a.runtime.Cancel(ctx, &runtimev1.CancelRequest{Id: id, GracePeriod: durationpb.New(a.opts.KillGrace)}); err != nil {
		a.opts.Log.Error(err, "cancelling a stale execution", "execution", id)
		return
	}
	stream, err := a.runtime.Execute(ctx, &runtimev1.ExecuteRequest{Id: id, AttachOnly: true})
	for err == nil {
		_, err = stream.Recv()
	}
	if _, err := a.runtime.Forget(ctx, &runtimev1.ForgetRequest{Id: id}); err != nil {
		a.opts.Log.Error(err, "forgetting a stale execution", "execution", id)
	}
}
