package node_test

import (
	"context"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	krtv1 "krt.dev/krt/api/v1alpha1"
	"krt.dev/krt/runtimed/heartbeat"
	"krt.dev/krt/test/node"
)

// eventually polls until cond holds, failing the test after timeout with
// what the namespace's pods and events say.
func eventually(t *testing.T, ns string, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	err := wait.PollUntilContextTimeout(context.Background(), 100*time.Millisecond, timeout, true,
		func(context.Context) (bool, error) { return cond(), nil })
	if err != nil {
		t.Fatalf("timed out after %s waiting for %s\n%s", timeout, what, theNode.Describe(context.Background(), ns))
	}
}

// restrictedNamespace is a namespace whose Pod Security admission
// enforces the restricted standard, as a shared cluster's tenants get.
func restrictedNamespace(t *testing.T, prefix string) string {
	t.Helper()
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: prefix + "-", Labels: map[string]string{
		"pod-security.kubernetes.io/enforce": "restricted", "pod-security.kubernetes.io/enforce-version": "latest"}}}
	if err := c.Create(context.Background(), ns); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Delete(context.Background(), ns) })
	return ns.Name
}

// pythonRuntime creates a Runtime on the debootstrap-built image and
// waits until its pods are Ready and their runtimed heartbeats.
func pythonRuntime(t *testing.T, ns, name string, replicas int32) {
	t.Helper()
	rt := &krtv1.Runtime{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}, Spec: krtv1.RuntimeSpec{
		Image: node.PythonImage, Languages: []krtv1.Language{krtv1.LanguageBash, krtv1.LanguagePython},
		Replicas: ptr.To(replicas), Capacity: 2,
	}}
	if err := c.Create(context.Background(), rt); err != nil {
		t.Fatal(err)
	}
	waitPool(t, ns, name, replicas)
}

// waitPool waits for n Ready pods of a Runtime, each heartbeating.
func waitPool(t *testing.T, ns, name string, n int32) []corev1.Pod {
	t.Helper()
	var ready []corev1.Pod
	eventually(t, ns, 3*time.Minute, "runtime "+name+"'s pods to be Ready and heartbeating", func() bool {
		ready = readyPods(t, ns, name)
		return len(ready) == int(n)
	})
	return ready
}

func readyPods(t *testing.T, ns, runtime string) []corev1.Pod {
	pods := &corev1.PodList{}
	if err := c.List(context.Background(), pods, client.InNamespace(ns), client.MatchingLabels{krtv1.LabelRuntime: runtime}); err != nil {
		t.Fatal(err)
	}
	var ready []corev1.Pod
	for _, p := range pods.Items {
		lease := &coordinationv1.Lease{}
		if p.DeletionTimestamp == nil && podReady(&p) &&
			c.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: p.Name}, lease) == nil &&
			heartbeat.Fresh(lease, p.UID, time.Now()) {
			ready = append(ready, p)
		}
	}
	return ready
}

func podReady(p *corev1.Pod) bool {
	for _, cond := range p.Status.Conditions {
		if cond.Type == corev1.PodReady {
			return cond.Status == corev1.ConditionTrue
		}
	}
	return false
}

func TestChartInstallsAReadyController(t *testing.T) {
	dep := &appsv1.Deployment{}
	// Polled rather than read once: CI once saw a Ready controller turn
	// unready moments after helm's --wait, and the failure now says why.
	eventually(t, "krt-system", time.Minute, "krt-controller to have a ready replica", func() bool {
		return c.Get(context.Background(), client.ObjectKey{Namespace: "krt-system", Name: "krt-controller"}, dep) == nil &&
			dep.Status.ReadyReplicas == 1
	})
	pods := &corev1.PodList{}
	if err := c.List(context.Background(), pods, client.InNamespace("krt-system")); err == nil {
		for _, p := range pods.Items {
			for _, cs := range p.Status.ContainerStatuses {
				if cs.RestartCount > 0 {
					t.Logf("%s/%s restarted %d times; last: %+v", p.Name, cs.Name, cs.RestartCount, cs.LastTerminationState)
				}
			}
		}
	}
	if img := dep.Spec.Template.Spec.Containers[0].Image; img != node.ImageRegistry+"/krt-controller:"+node.ImageTag {
		t.Errorf("krt-controller runs %s, want the image built from this tree", img)
	}
	v, err := theNode.Clientset.Discovery().ServerVersion()
	if err != nil || v.GitVersion != "v1.37.2" {
		t.Errorf("the API server reports version %+v (%v), want v1.37.2 from the build's ldflags", v, err)
	}
}

// A Runtime's pods on a real kubelet: the init container copies
// krt-runtime into the debootstrap image, runtimed heartbeats, and the
// restricted Pod Security standard admits them.
func TestRuntimePodsOnARealNode(t *testing.T) {
	ns := restrictedNamespace(t, "runtime")
	pythonRuntime(t, ns, "python", 1)
	pod := readyPods(t, ns, "python")[0]
	if len(pod.Status.InitContainerStatuses) != 1 {
		t.Fatalf("pod %s has init containers %+v, want the one that installs krt-runtime", pod.Name, pod.Status.InitContainerStatuses)
	}
	if term := pod.Status.InitContainerStatuses[0].State.Terminated; term == nil || term.ExitCode != 0 {
		t.Errorf("init container %s: %+v, want it to have exited 0", pod.Status.InitContainerStatuses[0].Name, pod.Status.InitContainerStatuses[0].State)
	}
	out := krtOK(t, "run", "-n", ns, "-r", "python", "--wait", "--", "echo", "hi")
	if strings.TrimSpace(out) != "hi" {
		t.Errorf("krt run --wait -- echo hi printed %q, want hi", out)
	}
}
