package security

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	krtv1 "krt.dev/krt/api/v1alpha1"
	"krt.dev/krt/controllers/cluster"
	"krt.dev/krt/test/kubetest"
	"krt.dev/krt/workflows/dag"
)

// sharedNS is the one namespace of the remote cluster that both tenants'
// Clusters target.
const sharedNS = "shared"

// Two tenants, in two hub namespaces, register the same remote namespace
// as their Cluster and run WorkflowRuns of the same name there. Each run
// keeps its own Runs (the Run names differ, each Run carries its run's
// UID), and cancelling one tenant's run leaves the other's Run running
// and not asked to stop. A Run forged in the shared namespace under the
// name a run will use is never adopted: the node fails, saying whose Run
// it is, and the forged Run is left as it was.
//
// The remote is a second API server with its own krt-controller (the
// runtime plane only) and local pool, as in a real hub-and-spokes install.
func TestTenantsShareARemoteNamespace(t *testing.T) {
	ctx := context.Background()
	remote := startRemote(t)
	if err := remote.Client.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: sharedNS}}); err != nil {
		t.Fatal(err)
	}
	remoteRuntime(t, remote, sharedNS, "bash")
	kubeconfig, err := os.ReadFile(remote.Kubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	tenants := []string{env.Namespace(t), env.Namespace(t)}
	runs := map[string]*krtv1.WorkflowRun{}
	for _, ns := range tenants {
		cl := sharedCluster(t, ns, "edge", kubeconfig)
		waitClusterCondition(t, cl, krtv1.ConditionReady, metav1.ConditionTrue, cluster.ReasonConnected)
		runs[ns] = remoteRun(t, ns, "deploy", "edge")
	}
	a, b := runs[tenants[0]], runs[tenants[1]]
	runA, runB := waitRemoteRun(t, remote, a), waitRemoteRun(t, remote, b)
	if runA.Name == runB.Name {
		t.Fatalf("both tenants' runs use Run %s/%s", sharedNS, runA.Name)
	}
	for _, c := range []struct {
		wr  *krtv1.WorkflowRun
		run *krtv1.Run
	}{{a, runA}, {b, runB}} {
		if got := c.run.Labels[krtv1.LabelWorkflowRunUID]; got != string(c.wr.UID) {
			t.Errorf("Run %s has %s=%q, want its run's UID %s", c.run.Name, krtv1.LabelWorkflowRunUID, got, c.wr.UID)
		}
	}

	// Tenant A cancels: A's Run is asked to stop, B's is not.
	patch := client.MergeFrom(a.DeepCopy())
	a.Spec.CancelRequested, a.Spec.CancelledBy = true, kubetest.AdminUser
	if err := env.Client.Patch(ctx, a, patch); err != nil {
		t.Fatal(err)
	}
	eventually(t, time.Minute, "tenant A's run to be Cancelled", func() bool {
		return env.Client.Get(ctx, client.ObjectKeyFromObject(a), a) == nil && a.Status.Phase == krtv1.WorkflowCancelled
	})
	eventually(t, time.Minute, "tenant A's Run to end", func() bool {
		return remote.Client.Get(ctx, client.ObjectKeyFromObject(runA), runA) == nil && runA.Status.Phase.Terminal()
	})
	if err := remote.Client.Get(ctx, client.ObjectKeyFromObject(runB), runB); err != nil {
		t.Fatal(err)
	}
	if runB.Spec.CancelRequested || runB.Status.Phase != krtv1.RunRunning {
		t.Errorf("tenant B's Run after A's cancel: cancelRequested=%v phase %s; want it running, untouched",
			runB.Spec.CancelRequested, runB.Status.Phase)
	}
	if err := env.Client.Get(ctx, client.ObjectKeyFromObject(b), b); err != nil || b.Status.Phase != krtv1.WorkflowRunning {
		t.Errorf("tenant B's run after A's cancel: %s (%v); want Running", b.Status.Phase, err)
	}
	if n := exprNode(b, "work"); n.Run != runB.Name {
		t.Errorf("tenant B's node follows Run %q, want its own %s", n.Run, runB.Name)
	}

	t.Run("a forged Run under the name a run will use is not adopted", func(t *testing.T) {
		forgedRunIsNotAdopted(t, remote, tenants[1], kubeconfig)
	})
}

// forgedRunIsNotAdopted creates a run whose cluster does not exist yet,
// so its node waits; forges, in the shared namespace, the Run it will
// create there; then registers the cluster.
func forgedRunIsNotAdopted(t *testing.T, remote *kubetest.Env, ns string, kubeconfig []byte) {
	ctx := context.Background()
	wr := remoteRun(t, ns, "victim", "later")
	eventually(t, time.Minute, "the node to wait for its cluster", func() bool {
		return env.Client.Get(ctx, client.ObjectKeyFromObject(wr), wr) == nil && exprNode(wr, "work").Phase == krtv1.NodeWaiting
	})
	forged := &krtv1.Run{
		ObjectMeta: metav1.ObjectMeta{Name: dag.RunName(wr.Name, string(wr.UID), "work"), Namespace: sharedNS,
			Labels: map[string]string{krtv1.LabelWorkflowRun: wr.Name, krtv1.LabelWorkflowRunUID: "another-tenants-uid",
				krtv1.LabelNode: "work"},
			Annotations: map[string]string{krtv1.AnnotationOrigin: ns + "/" + wr.Name, krtv1.AnnotationNode: "work"}},
		Spec: krtv1.RunSpec{Runtime: "bash", Script: "echo forged"},
	}
	if err := remote.Client.Create(ctx, forged); err != nil {
		t.Fatal(err)
	}
	sharedCluster(t, ns, "later", kubeconfig)
	eventually(t, 2*time.Minute, "the run to fail", func() bool {
		return env.Client.Get(ctx, client.ObjectKeyFromObject(wr), wr) == nil && wr.Status.Phase == krtv1.WorkflowFailed
	})
	n := exprNode(wr, "work")
	if n.Phase != krtv1.NodeFailed || n.Run != "" || !strings.Contains(n.Message, "belongs to another WorkflowRun") ||
		!strings.Contains(n.Message, "another-tenants-uid") {
		t.Errorf("node work = %s %q (Run %q); want Failed, naming the other run's UID, and no Run", n.Phase, n.Message, n.Run)
	}
	if events := exprEvents(t, ns, wr.Name); !strings.Contains(events, "ForeignRun") {
		t.Errorf("no ForeignRun event on the run; events:\n%s", events)
	}
	// The forged Run is exactly as its maker left it: the engine's only
	// write to a Run, a cancel, never reached it.
	got := &krtv1.Run{}
	if err := remote.Client.Get(ctx, client.ObjectKeyFromObject(forged), got); err != nil {
		t.Fatal(err)
	}
	if got.Spec.CancelRequested || got.Spec.Script != "echo forged" {
		t.Errorf("the forged Run was changed: %+v", got.Spec)
	}
}

// startRemote starts a second API server as the tenants' remote cluster,
// with krt's runtime plane on it; stopped when the test ends.
func startRemote(t *testing.T) *kubetest.Env {
	t.Helper()
	remote, err := kubetest.Start()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(remote.Stop)
	st, err := kubetest.StartStack(remote, bins, kubetest.StackOptions{
		KillGrace: 2 * time.Second, LeaseDuration: 3 * time.Second,
		ControllerArgs: []string{"--controllers", "scheduler,reaper,ttl,runtime"},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(st.Stop)
	return remote
}

// remoteRuntime creates a bash Runtime on the remote and waits for a pod.
func remoteRuntime(t *testing.T, remote *kubetest.Env, ns, name string) {
	t.Helper()
	rt := &krtv1.Runtime{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
		Spec: krtv1.RuntimeSpec{Replicas: ptr.To[int32](1), Capacity: 4}}
	if err := remote.Client.Create(context.Background(), rt); err != nil {
		t.Fatal(err)
	}
	eventually(t, 2*time.Minute, "the remote runtime to be ready", func() bool {
		return remote.Client.Get(context.Background(), client.ObjectKeyFromObject(rt), rt) == nil && rt.Status.ReadyPods >= 1
	})
}

// remoteRun starts a manual run of one long step on cluster.
func remoteRun(t *testing.T, ns, name, cluster string) *krtv1.WorkflowRun {
	t.Helper()
	wr := &krtv1.WorkflowRun{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
		Spec: krtv1.WorkflowRunSpec{Workflow: name,
			Definition: krtv1.WorkflowSpec{On: krtv1.Triggers{Manual: &krtv1.ManualTrigger{}}, Steps: []krtv1.Step{
				{Name: "work", Cluster: cluster, Runtime: "bash", Run: "sleep 300"}}},
			Event: krtv1.WorkflowEvent{Type: krtv1.EventManual, Manual: &krtv1.ManualEvent{User: kubetest.AdminUser}}}}
	if err := env.Client.Create(context.Background(), wr); err != nil {
		t.Fatal(err)
	}
	return wr
}

// waitRemoteRun waits until the run's node runs on the remote, and
// returns its Run there, as the remote has it.
func waitRemoteRun(t *testing.T, remote *kubetest.Env, wr *krtv1.WorkflowRun) *krtv1.Run {
	t.Helper()
	ctx := context.Background()
	run := &krtv1.Run{}
	eventually(t, 2*time.Minute, fmt.Sprintf("%s/%s's Run to run on the remote", wr.Namespace, wr.Name), func() bool {
		if env.Client.Get(ctx, client.ObjectKeyFromObject(wr), wr) != nil {
			return false
		}
		n := exprNode(wr, "work")
		return n.Run != "" && remote.Client.Get(ctx, client.ObjectKey{Namespace: sharedNS, Name: n.Run}, run) == nil &&
			run.Status.Phase == krtv1.RunRunning
	})
	return run
}

// sharedCluster registers, in a tenant's hub namespace, the remote's
// shared namespace as Cluster name; deleted when the test ends.
func sharedCluster(t *testing.T, ns, name string, kubeconfig []byte) *krtv1.Cluster {
	t.Helper()
	ctx := context.Background()
	secret := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: name + "-kubeconfig", Namespace: ns},
		Data: map[string][]byte{"kubeconfig": kubeconfig}}
	cl := &krtv1.Cluster{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns}, Spec: krtv1.ClusterSpec{
		KubeconfigSecretRef: krtv1.SecretKeySelector{Name: secret.Name, Key: "kubeconfig"}, Namespace: sharedNS}}
	for _, o := range []client.Object{secret, cl} {
		if err := env.Client.Create(ctx, o); err != nil {
			t.Fatal(err)
		}
	}
	t.Cleanup(func() { _ = env.Client.Delete(ctx, cl) })
	return cl
}
