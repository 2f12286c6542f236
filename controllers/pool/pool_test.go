package pool

import (
	"context"
	"testing"

	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"

	"krt.dev/krt/api/scheme"
	krtv1 "krt.dev/krt/api/v1alpha1"
	"krt.dev/krt/controllers/index"
)

// indexer hands index.Register's indexes to a fake client's builder, so
// that the test reads through the same indexes as the controllers.
type indexer struct{ b *fake.ClientBuilder }

func (i indexer) IndexField(_ context.Context, o client.Object, field string, fn client.IndexerFunc) error {
	i.b.WithIndex(o, field, fn)
	return nil
}

func pod(name string, uid types.UID, runtime string) *corev1.Pod {
	return &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "ns", UID: uid,
		Labels: map[string]string{krtv1.LabelRuntime: runtime}}}
}

func lease(name, runtime string) *coordinationv1.Lease {
	return &coordinationv1.Lease{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "ns",
		Labels: map[string]string{krtv1.LabelRuntime: runtime}}}
}

func run(name, runtime string, phase krtv1.RunPhase, pod string, uid types.UID) *krtv1.Run {
	return &krtv1.Run{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "ns"},
		Spec:   krtv1.RunSpec{Runtime: runtime, Command: []string{"true"}},
		Status: krtv1.RunStatus{Phase: phase, AssignedPod: pod, AssignedPodUID: uid}}
}

// TestRead: each pod of the Runtime, with its own Lease and the Runs that
// hold a slot on it: not a namesake's, not finished ones, not another
// Runtime's.
func TestRead(t *testing.T) {
	b := fake.NewClientBuilder().WithScheme(scheme.New())
	if err := index.Register(context.Background(), indexer{b}); err != nil {
		t.Fatal(err)
	}
	c := b.WithObjects(
		pod("a", "uid-a", "py"), pod("b", "uid-b", "py"), pod("other", "uid-o", "bash"),
		lease("a", "py"), lease("other", "bash"),
		run("r1", "py", krtv1.RunRunning, "a", "uid-a"),
		run("r2", "py", krtv1.RunScheduled, "a", "uid-a"),
		run("r3", "py", krtv1.RunRunning, "b", "uid-old-b"), // on the pod b replaced
		run("r4", "py", krtv1.RunSucceeded, "b", "uid-b"),
		run("r5", "py", krtv1.RunPending, "", ""),
		run("r6", "bash", krtv1.RunRunning, "other", "uid-o"),
	).Build()
	members, err := Read(context.Background(), c, "ns", "py")
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]Member{}
	for _, m := range members {
		got[m.Pod.Name] = m
	}
	if len(got) != 2 {
		t.Fatalf("members %v, want pods a and b", got)
	}
	if a := got["a"]; a.Lease == nil || a.Lease.Name != "a" || a.Runs != 2 {
		t.Errorf("pod a: lease %v, %d Runs; want its Lease and 2 Runs", a.Lease, a.Runs)
	}
	if b := got["b"]; b.Lease != nil || b.Runs != 0 {
		t.Errorf("pod b: lease %v, %d Runs; want no Lease and no Runs", b.Lease, b.Runs)
	}
}
