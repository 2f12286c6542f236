package e2e

import (
	"context"
	"net"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	krtv1 "krt.dev/krt/api/v1alpha1"
)

// TestPodWhosePortIsTakenIsReplaced takes a local pod's metrics port while
// its runtimed is down. Local pods share loopback, so this happens when
// another process binds the port between the pod's making and its start;
// the pod would otherwise fail to start for ever, its port pinned in its
// spec. The pool must replace it with a pod on new ports that runs Runs.
func TestPodWhosePortIsTakenIsReplaced(t *testing.T) {
	ns := setupRuntime(t, "ports", 1, 2)
	old := podsOf(ns, "ports")[0]
	if err := pool.KillRuntimed(ns, old.Name); err != nil {
		t.Fatal(err)
	}
	squatter, err := net.Listen("tcp", strings.TrimPrefix(old.MetricsURL, "http://"))
	if err != nil {
		t.Fatalf("taking the metrics port: %v", err)
	}
	defer squatter.Close()
	if err := pool.RestartRuntimed(ns, old.Name); err == nil || !strings.Contains(err.Error(), "address already in use") {
		t.Fatalf("restarting runtimed on a taken port: err = %v, want address already in use", err)
	}
	// A change to the pod makes the pool look at it again, as it would on
	// any event of the pod or its Runtime.
	pod := &corev1.Pod{}
	if err := env.Client.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: old.Name}, pod); err != nil {
		t.Fatal(err)
	}
	patch := client.MergeFrom(pod.DeepCopy())
	pod.Annotations["test.krt.dev/poke"] = "1"
	if err := env.Client.Patch(context.Background(), pod, patch); err != nil {
		t.Fatal(err)
	}
	waitPods(t, ns, "ports", 1)
	now := podsOf(ns, "ports")[0]
	if now.Name == old.Name || now.MetricsURL == old.MetricsURL {
		t.Fatalf("pod %s (%s) was kept, want a new pod on a new port", now.Name, now.MetricsURL)
	}
	done := waitDone(t, newRun(t, ns, krtv1.RunSpec{Runtime: "ports", Script: "echo ok"}))
	if done.Status.Phase != krtv1.RunSucceeded || done.Status.AssignedPod != now.Name {
		t.Fatalf("phase %s on %s (%s), want Succeeded on %s", done.Status.Phase, done.Status.AssignedPod, done.Status.Message, now.Name)
	}
}
