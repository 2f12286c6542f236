package security

import (
	"context"
	"testing"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/util/retry"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	krtv1 "krt.dev/krt/api/v1alpha1"
	"krt.dev/krt/runtimed/heartbeat"
)

// startRuntime creates a Runtime in ns and waits until the local pool's
// pods run and heartbeat.
func startRuntime(t *testing.T, ns, name string, replicas int32, mods ...func(*krtv1.Runtime)) {
	t.Helper()
	rt := &krtv1.Runtime{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
		Spec:       krtv1.RuntimeSpec{Replicas: ptr.To(replicas), Capacity: 2},
	}
	for _, m := range mods {
		m(rt)
	}
	if err := env.Client.Create(context.Background(), rt); err != nil {
		t.Fatalf("creating runtime %s: %v", name, err)
	}
	eventually(t, 2*time.Minute, "runtime "+name+"'s pods to be ready and heartbeating", func() bool {
		pods := pool.Pods(ns, name)
		if len(pods) != int(replicas) {
			return false
		}
		for _, p := range pods {
			lease := &coordinationv1.Lease{}
			if p.RuntimedPID == 0 || env.Client.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: p.Name}, lease) != nil ||
				!heartbeat.Fresh(lease, p.UID, time.Now()) {
				return false
			}
		}
		return true
	})
}

// getRun reads a Run's current state.
func getRun(t *testing.T, ns, name string) *krtv1.Run {
	t.Helper()
	run := &krtv1.Run{}
	if err := env.Client.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: name}, run); err != nil {
		t.Fatalf("reading run %s: %v", name, err)
	}
	return run
}

// assign plays the scheduler: it puts a Pending Run on a pod. The real
// scheduler may write the Run's status meanwhile (a Pending reason), so it
// retries on a conflict.
func assign(t *testing.T, run *krtv1.Run, pod string, podUID types.UID) {
	t.Helper()
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		cur := &krtv1.Run{}
		if err := env.Client.Get(context.Background(), client.ObjectKeyFromObject(run), cur); err != nil {
			return err
		}
		now := metav1.NowMicro()
		cur.Status.Phase = krtv1.RunScheduled
		cur.Status.AssignedPod, cur.Status.AssignedPodUID = pod, podUID
		cur.Status.ScheduledTime = &now
		return env.Client.Status().Update(context.Background(), cur)
	})
	if err != nil {
		t.Fatalf("assigning run %s to %s: %v", run.Name, pod, err)
	}
}
