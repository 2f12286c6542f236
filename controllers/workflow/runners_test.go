package workflow

import (
	"context"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	krtv1 "krt.dev/krt/api/v1alpha1"
	"krt.dev/krt/test/kubetest"
	"krt.dev/krt/workflows/dag"
)

// A runner resolves to a Runtime of the hub, or to a Cluster on its
// default runtime; one that names nothing waits, saying where it looked,
// until what it names exists. A step naming no runtime runs on the
// namespace's default, and a step reading another waits for it.
func TestRunners(t *testing.T) {
	ctx := context.Background()
	ns := env.Namespace(t)
	nsObj := &corev1.Namespace{}
	if err := env.Client.Get(ctx, client.ObjectKey{Name: ns}, nsObj); err != nil {
		t.Fatal(err)
	}
	nsObj.Annotations = map[string]string{krtv1.AnnotationDefaultRuntime: "shell"}
	if err := env.Client.Update(ctx, nsObj); err != nil {
		t.Fatal(err)
	}
	create := func(obj client.Object) {
		t.Helper()
		if err := env.Client.Create(ctx, obj); err != nil {
			t.Fatal(err)
		}
	}
	create(&krtv1.Runtime{ObjectMeta: metav1.ObjectMeta{Name: "testing-runner", Namespace: ns}, Spec: krtv1.RuntimeSpec{Image: "x"}})
	create(&krtv1.Cluster{ObjectMeta: metav1.ObjectMeta{Name: "edge", Namespace: ns}, Spec: krtv1.ClusterSpec{
		KubeconfigSecretRef: krtv1.SecretKeySelector{Name: "edge-kubeconfig", Key: "value"}, DefaultRuntime: "edge-bash"}})

	wr := newRun(t, ns, "runners", krtv1.WorkflowSpec{Steps: []krtv1.Step{
		{Name: "hub", Runner: "testing-runner", Run: "echo url=u >> $KRT_OUTPUTS"},
		{Name: "reads", Env: map[string]string{"URL": "${{ steps.hub.outputs.url }}"}, Run: "echo $URL"},
		{Name: "lost", Runner: "nowhere", Run: "true"},
		{Name: "remote", Runner: "edge", Run: "true"},
		{Name: "cluster-only", Cluster: "edge", Run: "true"},
	}}, nil)
	hub := waitRunOf(t, ns, wr, "hub")
	if hub.Spec.Runtime != "testing-runner" {
		t.Errorf("runner testing-runner ran on runtime %q", hub.Spec.Runtime)
	}
	waitNode(t, wr, "lost", krtv1.NodeWaiting,
		"runner nowhere resolves to nothing: there is no Cluster nowhere and no Runtime nowhere in namespace "+ns)
	if n := waitNode(t, wr, "remote", krtv1.NodeWaiting, "cluster edge:"); n.Cluster != "edge" {
		t.Errorf("runner edge waits for cluster %q", n.Cluster)
	}
	waitNode(t, wr, "cluster-only", krtv1.NodeWaiting, "cluster edge:")
	// reads waits for hub, which it reads, though it names no needs.
	if err := env.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: dag.RunName(wr.Name, string(wr.UID), "reads")}, &krtv1.Run{}); err == nil {
		t.Fatal("step reads started before the step it reads finished")
	}
	finish(t, hub, krtv1.RunSucceeded, map[string]string{"url": "u"}, "")
	reads := waitRunOf(t, ns, wr, "reads")
	if reads.Spec.Runtime != "shell" || envOf(reads, "URL") != "u" {
		t.Errorf("reads ran on %q with URL %q; want the namespace's default runtime and hub's output", reads.Spec.Runtime, envOf(reads, "URL"))
	}
	create(&krtv1.Runtime{ObjectMeta: metav1.ObjectMeta{Name: "nowhere", Namespace: ns}, Spec: krtv1.RuntimeSpec{Image: "x"}})
	if lost := waitRunOf(t, ns, wr, "lost"); lost.Spec.Runtime != "nowhere" {
		t.Errorf("lost ran on %q once Runtime nowhere existed", lost.Spec.Runtime)
	}
}

// A repository's default runtime wins over its namespace's.
func TestRepositoryDefaultRuntime(t *testing.T) {
	ctx := context.Background()
	ns := env.Namespace(t)
	repo := &krtv1.WorkflowRepository{ObjectMeta: metav1.ObjectMeta{Name: "flows", Namespace: ns},
		Spec: krtv1.WorkflowRepositorySpec{URL: "https://git.example.com/flows.git", DefaultRuntime: "repo-runtime"}}
	if err := env.Client.Create(ctx, repo); err != nil {
		t.Fatal(err)
	}
	wr := &krtv1.WorkflowRun{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "from-repo", Labels: map[string]string{krtv1.LabelRepository: "flows"}},
		Spec: krtv1.WorkflowRunSpec{Workflow: "from-repo", Event: krtv1.WorkflowEvent{Type: krtv1.EventManual, Manual: &krtv1.ManualEvent{User: kubetest.AdminUser}},
			Definition: krtv1.WorkflowSpec{Steps: []krtv1.Step{{Name: "a", Run: "true"}}}},
	}
	if err := env.Client.Create(ctx, wr); err != nil {
		t.Fatal(err)
	}
	if run := waitRunOf(t, ns, wr, "a"); run.Spec.Runtime != "repo-runtime" {
		t.Errorf("a step naming no runtime ran on %q, want the repository's default", run.Spec.Runtime)
	}
}
