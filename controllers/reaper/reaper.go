// Package reaper retries, or fails, the Runs of runtime pods that are gone,
// replaced, or silent: a Run assigned to such a pod would otherwise wait
// forever. It works a pod at a time, so one heartbeat timer covers all of
// a pod's Runs.
package reaper

import (
	"context"
	"fmt"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/record"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	krtv1 "krt.dev/krt/api/v1alpha1"
	"krt.dev/krt/controllers/index"
	"krt.dev/krt/runtimed/heartbeat"
)

// The reaper's rights (make generate writes them into the ClusterRole
// krt-controller-reaper): it reads Runs, runtime pods and their Leases,
// resets or fails a Run through its status, and says so in an Event.
//
// +kubebuilder:rbac:groups=krt.dev,resources=runs,verbs=get;list;watch
// +kubebuilder:rbac:groups=krt.dev,resources=runs/status,verbs=update
// +kubebuilder:rbac:groups="",resources=pods,verbs=get;list;watch
// +kubebuilder:rbac:groups=coordination.k8s.io,resources=leases,verbs=get;list;watch
// +kubebuilder:rbac:groups="",resources=events,verbs=create;patch

// Why an attempt was taken away from its pod.
const (
	ReasonPodGone       = "PodGone"
	ReasonPodReplaced   = "PodReplaced"
	ReasonHeartbeatLost = "HeartbeatLost"
	ReasonNotClaimed    = "NotClaimed"
)

// Options configures the Reaper.
type Options struct {
	// ClaimTimeout is how long a healthy pod may leave an assigned Run
	// unclaimed before it is given to another pod.
	ClaimTimeout time.Duration
}

// Reaper reconciles runtime pods, keyed namespace/pod-name, against the
// Runs assigned to them.
type Reaper struct {
	opts     Options
	cache    client.Reader
	writer   client.Client
	recorder record.EventRecorder
	now      func() time.Time
}

// Reconcile checks every Run that holds a slot on one pod.
func (r *Reaper) Reconcile(ctx context.Context, req reconcile.Request) (reconcile.Result, error) {
	runs := &krtv1.RunList{}
	if err := r.cache.List(ctx, runs, client.InNamespace(req.Namespace),
		client.MatchingFields{index.ActivePod: req.Name}, client.UnsafeDisableDeepCopy); err != nil {
		return reconcile.Result{}, err
	}
	if len(runs.Items) == 0 {
		return reconcile.Result{}, nil
	}
	pod, lease, err := r.podAndLease(ctx, req.NamespacedName)
	if err != nil {
		return reconcile.Result{}, err
	}
	now := r.now()
	var next time.Duration
	for i := range runs.Items {
		run := &runs.Items[i]
		reason, msg, recheck := r.verdict(run, pod, lease, now)
		if reason == "" {
			if recheck > 0 && (next == 0 || recheck < next) {
				next = recheck
			}
			continue
		}
		if err := r.reap(ctx, run.DeepCopy(), reason, msg, now); err != nil {
			return reconcile.Result{}, err
		}
	}
	return reconcile.Result{RequeueAfter: next}, nil
}

func (r *Reaper) podAndLease(ctx context.Context, key types.NamespacedName) (*corev1.Pod, *coordinationv1.Lease, error) {
	pod := &corev1.Pod{}
	if err := r.cache.Get(ctx, key, pod); err != nil {
		if !apierrors.IsNotFound(err) {
			return nil, nil, err
		}
		pod = nil
	}
	lease := &coordinationv1.Lease{}
	if err := r.cache.Get(ctx, key, lease); err != nil {
		if !apierrors.IsNotFound(err) {
			return nil, nil, err
		}
		lease = nil
	}
	return pod, lease, nil
}

// verdict says why a Run must leave its pod, or else how long until it
// should be looked at again.
func (r *Reaper) verdict(run *krtv1.Run, pod *corev1.Pod, lease *coordinationv1.Lease, now time.Time) (reason, msg string, recheck time.Duration) {
	podName := run.Status.AssignedPod
	switch {
	case pod == nil:
		return ReasonPodGone, fmt.Sprintf("pod %s is gone", podName), 0
	case pod.UID != run.Status.AssignedPodUID:
		return ReasonPodReplaced, fmt.Sprintf("pod %s was replaced by a new pod of the same name", podName), 0
	case !heartbeat.Fresh(lease, pod.UID, now):
		return ReasonHeartbeatLost, fmt.Sprintf("runtimed on pod %s stopped renewing its heartbeat", podName), 0
	}
	recheck = heartbeat.Expiry(lease).Sub(now) + time.Millisecond
	if run.Status.Phase == krtv1.RunScheduled && run.Status.ScheduledTime != nil {
		deadline := run.Status.ScheduledTime.Add(r.opts.ClaimTimeout)
		if !now.Before(deadline) {
			return ReasonNotClaimed, fmt.Sprintf("pod %s did not claim the Run within %s", podName, r.opts.ClaimTimeout), 0
		}
		recheck = min(recheck, deadline.Sub(now))
	}
	return "", "", recheck
}

// reap ends the Run's attempt on its pod: another attempt under its retry
// policy, or the end. The write is conditional on the Run's
// resourceVersion, so a runtimed that finished meanwhile wins, and the old
// pod's later writes are rejected.
func (r *Reaper) reap(ctx context.Context, run *krtv1.Run, reason, msg string, now time.Time) error {
	// The attempt reaped, not the one a retry starts.
	logger := log.FromContext(ctx).WithValues(run.LogValues()...)
	// The attempt counts, claimed or not: runtimed starts a Run before
	// its claim and claims it only past --claim-after, so a Scheduled Run
	// may be running. A next attempt under the same number would give two
	// executions one KRT_ATTEMPT, and a step that kills its pod within
	// the bound would be retried for ever.
	retried := run.RetryOrFinish(krtv1.RunFailed, reason, msg, true, now)
	if err := r.writer.Status().Update(ctx, run.StatusOnly()); err != nil {
		if apierrors.IsConflict(err) || apierrors.IsNotFound(err) {
			// The Run moved on; the informer brings the news and this pod
			// is looked at again.
			return nil
		}
		return err
	}
	reaped.WithLabelValues(reason).Inc()
	verb := "failed"
	if retried {
		verb = "retried"
	}
	logger.Info("reaped a Run", "reason", reason, "outcome", verb)
	r.recorder.Eventf(run, corev1.EventTypeWarning, reason, "%s; the Run was %s", msg, verb)
	return nil
}
