package scheduler

import (
	"context"
	"strconv"
	"testing"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	ctrlmetrics "sigs.k8s.io/controller-runtime/pkg/metrics"

	krtv1 "krt.dev/krt/api/v1alpha1"
)

var ctx = context.Background()

type podSpec struct {
	name     string
	capacity int
	ready    bool
	lease    time.Duration // age of the last heartbeat; <0 means no Lease
}

// fixture creates a Runtime and pods that look like a kubelet and runtimed
// made them.
func fixture(t *testing.T, pods ...podSpec) (string, map[string]*corev1.Pod) {
	t.Helper()
	ns := env.Namespace(t)
	must(t, env.Client.Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "default", Namespace: ns}}))
	must(t, env.Client.Create(ctx, &krtv1.Runtime{ObjectMeta: metav1.ObjectMeta{Name: "rt", Namespace: ns}}))
	out := map[string]*corev1.Pod{}
	for _, ps := range pods {
		pod := &corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{Name: ps.name, Namespace: ns,
				Labels:      map[string]string{krtv1.LabelRuntime: "rt"},
				Annotations: map[string]string{krtv1.AnnotationCapacity: strconv.Itoa(ps.capacity)}},
			Spec: corev1.PodSpec{NodeName: "n", Containers: []corev1.Container{{Name: "c", Image: "i"}}},
		}
		must(t, env.Client.Create(ctx, pod))
		setReady(t, pod, ps.ready)
		if ps.lease >= 0 {
			must(t, env.Client.Create(ctx, lease(pod, time.Now().Add(-ps.lease))))
		}
		out[ps.name] = pod
	}
	return ns, out
}

func setReady(t *testing.T, pod *corev1.Pod, ready bool) {
	t.Helper()
	status := corev1.ConditionFalse
	if ready {
		status = corev1.ConditionTrue
	}
	pod.Status.Phase = corev1.PodRunning
	pod.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodReady, Status: status}}
	must(t, env.Client.Status().Update(ctx, pod))
}

func lease(pod *corev1.Pod, renewed time.Time) *coordinationv1.Lease {
	return &coordinationv1.Lease{
		ObjectMeta: metav1.ObjectMeta{Name: pod.Name, Namespace: pod.Namespace, Labels: map[string]string{krtv1.LabelRuntime: "rt"}},
		Spec: coordinationv1.LeaseSpec{HolderIdentity: ptr.To(string(pod.UID)), LeaseDurationSeconds: ptr.To(int32(15)),
			RenewTime: &metav1.MicroTime{Time: renewed}},
	}
}

func renew(t *testing.T, pod *corev1.Pod) {
	t.Helper()
	l := &coordinationv1.Lease{}
	must(t, env.Client.Get(ctx, client.ObjectKeyFromObject(pod), l))
	l.Spec.RenewTime = &metav1.MicroTime{Time: time.Now()}
	must(t, env.Client.Update(ctx, l))
	// Wait until the scheduler's informer has the renewal.
	err := wait.PollUntilContextTimeout(ctx, 10*time.Millisecond, 10*time.Second, true, func(context.Context) (bool, error) {
		seen := &coordinationv1.Lease{}
		return managerCache.Get(ctx, client.ObjectKeyFromObject(l), seen) == nil && seen.ResourceVersion == l.ResourceVersion, nil
	})
	must(t, err)
}

func newRuns(t *testing.T, ns string, n int) []*krtv1.Run {
	t.Helper()
	runs := make([]*krtv1.Run, n)
	for i := range runs {
		runs[i] = &krtv1.Run{ObjectMeta: metav1.ObjectMeta{GenerateName: "r-", Namespace: ns},
			Spec: krtv1.RunSpec{Runtime: "rt", Script: "true"}}
		must(t, env.Client.Create(ctx, runs[i]))
	}
	return runs
}

// assignments waits until want Runs are Scheduled and returns them by pod.
func assignments(t *testing.T, ns string, want int) map[string]int {
	t.Helper()
	var byPod map[string]int
	err := wait.PollUntilContextTimeout(ctx, 20*time.Millisecond, 30*time.Second, true, func(context.Context) (bool, error) {
		byPod = map[string]int{}
		list := &krtv1.RunList{}
		if err := env.Client.List(ctx, list, client.InNamespace(ns)); err != nil {
			return false, err
		}
		n := 0
		for _, r := range list.Items {
			if r.Status.Phase == krtv1.RunScheduled {
				byPod[r.Status.AssignedPod]++
				n++
			}
		}
		return n == want, nil
	})
	if err != nil {
		t.Fatalf("want %d Runs scheduled, have %v", want, byPod)
	}
	return byPod
}

// settled checks that nothing more gets scheduled: the scheduler's queue
// has drained and the count still holds.
func settled(t *testing.T, ns string, want int) {
	t.Helper()
	err := wait.PollUntilContextTimeout(ctx, 20*time.Millisecond, 10*time.Second, true, func(context.Context) (bool, error) {
		return gauge("workqueue_depth", "name", "scheduler") == 0 &&
			gauge("controller_runtime_active_workers", "controller", "scheduler") == 0, nil
	})
	if err != nil {
		t.Fatal("the scheduler never went idle")
	}
	assignments(t, ns, want)
}

// gauge reads one series of a metric the manager registered.
func gauge(name, label, value string) float64 {
	families, _ := ctrlmetrics.Registry.Gather()
	for _, f := range families {
		if f.GetName() != name {
			continue
		}
		for _, m := range f.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == label && l.GetValue() == value {
					return m.GetGauge().GetValue()
				}
			}
		}
	}
	return -1
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
