// Package heartbeat is the liveness contract between runtimed, which renews
// one coordination.k8s.io Lease per runtime pod, and the scheduler and
// reaper, which read its freshness. Both sides use this package so they
// cannot disagree on what "fresh" means.
package heartbeat

import (
	"context"
	"sync"
	"time"

	"github.com/go-logr/logr"
	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	krtv1 "krt.dev/krt/api/v1alpha1"
)

// Fresh reports whether the Lease proves that runtimed on the pod with this
// UID was alive recently. A Lease held for an older pod of the same name is
// not fresh.
func Fresh(l *coordinationv1.Lease, podUID types.UID, now time.Time) bool {
	if l == nil || l.Spec.HolderIdentity == nil || *l.Spec.HolderIdentity != string(podUID) {
		return false
	}
	if l.Spec.RenewTime == nil || l.Spec.LeaseDurationSeconds == nil {
		return false
	}
	return now.Before(Expiry(l))
}

// Renewer keeps a pod's Lease fresh.
type Renewer struct {
	Client   client.Client
	Pod      types.NamespacedName
	PodUID   types.UID
	Runtime  string
	Duration time.Duration
	// Interval between renewals; a third of Duration when zero.
	Interval time.Duration
	Log      logr.Logger

	// mu serialises renewals: MarkSpent renews outside Run's loop.
	mu    sync.Mutex
	spent bool
	lease *coordinationv1.Lease
}

// MarkSpent labels the Lease krt.dev/spent at once, and on every renewal
// after: the pod of an ephemeral Runtime has taken its one Run, so the
// scheduler assigns it nothing more and the Runtime controller replaces
// it once the Run ends. It retries a conflict with a fresh read.
func (r *Renewer) MarkSpent(ctx context.Context) error {
	r.mu.Lock()
	r.spent = true
	r.mu.Unlock()
	var err error
	for range 5 {
		if err = r.Renew(ctx); err == nil {
			return nil
		}
	}
	return err
}

// Run renews until ctx ends. The first renewal happens at once.
func (r *Renewer) Run(ctx context.Context) {
	interval := r.Interval
	if interval == 0 {
		interval = r.Duration / 3
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		if err := r.Renew(ctx); err != nil && ctx.Err() == nil {
			r.Log.Error(err, "renewing the heartbeat lease")
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// Renew writes one heartbeat, creating the Lease the first time.
func (r *Renewer) Renew(ctx context.Context) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	now := metav1.NewMicroTime(time.Now())
	if r.lease == nil {
		l := &coordinationv1.Lease{}
		err := r.Client.Get(ctx, r.Pod, l)
		switch {
		case apierrors.IsNotFound(err):
			return r.create(ctx, now)
		case err != nil:
			return err
		}
		r.lease = l
	}
	l := r.lease.DeepCopy()
	l.Spec.HolderIdentity = ptr.To(string(r.PodUID))
	l.Spec.LeaseDurationSeconds = ptr.To(int32(r.Duration / time.Second))
	l.Spec.RenewTime = &now
	l.OwnerReferences = r.owners()
	r.label(l)
	if err := r.Client.Update(ctx, l); err != nil {
		r.lease = nil // read it again next time
		return err
	}
	r.lease = l
	return nil
}

func (r *Renewer) create(ctx context.Context, now metav1.MicroTime) error {
	l := &coordinationv1.Lease{
		ObjectMeta: metav1.ObjectMeta{
			Name: r.Pod.Name, Namespace: r.Pod.Namespace,
			Labels:          map[string]string{krtv1.LabelRuntime: r.Runtime},
			OwnerReferences: r.owners(),
		},
		Spec: coordinationv1.LeaseSpec{
			HolderIdentity:       ptr.To(string(r.PodUID)),
			LeaseDurationSeconds: ptr.To(int32(r.Duration / time.Second)),
			AcquireTime:          &now,
			RenewTime:            &now,
		},
	}
	r.label(l)
	if err := r.Client.Create(ctx, l); err != nil {
		return err
	}
	r.lease = l
	return nil
}

func (r *Renewer) label(l *coordinationv1.Lease) {
	if !r.spent {
		return
	}
	if l.Labels == nil {
		l.Labels = map[string]string{}
	}
	l.Labels[krtv1.LabelSpent] = "true"
}

// WasSpent says whether this pod's Lease is marked spent, as last read or
// written.
func (r *Renewer) WasSpent() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.spent || Spent(r.lease)
}

// Spent reports whether a Lease marks its pod spent.
func Spent(l *coordinationv1.Lease) bool {
	return l != nil && l.Labels[krtv1.LabelSpent] != ""
}

// owners ties the Lease to its pod, so it is collected with it.
func (r *Renewer) owners() []metav1.OwnerReference {
	return []metav1.OwnerReference{{
		APIVersion: "v1", Kind: "Pod", Name: r.Pod.Name, UID: r.PodUID,
	}}
}

// PodReady reports whether the kubelet (or the local pool) says the pod is
// Ready and it is not being deleted.
func PodReady(p *corev1.Pod) bool {
	if p.DeletionTimestamp != nil || p.Status.Phase != corev1.PodRunning {
		return false
	}
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

// Expiry is when a Lease stops being fresh; the zero time for none.
func Expiry(l *coordinationv1.Lease) time.Time {
	if l == nil || l.Spec.RenewTime == nil || l.Spec.LeaseDurationSeconds == nil {
		return time.Time{}
	}
	return l.Spec.RenewTime.Add(time.Duration(*l.Spec.LeaseDurationSeconds) * time.Second)
}
