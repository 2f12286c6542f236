package promote

import (
	"context"
	"io"
	"net"
	"net/url"
	"os"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	krtv1 "krt.dev/krt/api/v1alpha1"
	"krt.dev/krt/test/kubetest"
)

// A step whose cluster does not answer waits, saying why, and retries;
// once the cluster answers, the step runs there, once. The cluster is
// staging behind an address where nothing listens until the test starts a
// proxy on it.
func TestUnreachableClusterComesBack(t *testing.T) {
	ctx := context.Background()
	ns := hub.env.Namespace(t)
	namespace(t, staging, "staging-flaky")
	runtime(t, staging, "staging-flaky", "deployer")
	addr, err := kubetest.FreeAddress()
	if err != nil {
		t.Fatal(err)
	}
	registerAt(t, ns, "flaky", staging, "staging-flaky", addr)

	createWorkflow(t, ns, "far", krtv1.Step{Name: "deploy", Cluster: "flaky", Runtime: "deployer", Run: "echo deployed"})
	manualRun(t, ns, "far", "far", nil)
	waitRun(t, ns, "far", "wait for its cluster", func(wr *krtv1.WorkflowRun) bool {
		n := node(wr, "deploy")
		return n.Phase == krtv1.NodeWaiting && strings.Contains(n.Message, "cluster flaky") && hasCondition(wr, "ClusterUnavailable")
	})

	target, err := url.Parse(staging.env.Config.Host)
	if err != nil {
		t.Fatal(err)
	}
	proxy(t, addr, target.Host)
	wr := waitRun(t, ns, "far", "finish", func(wr *krtv1.WorkflowRun) bool { return wr.Status.Phase.Terminal() })
	if n := node(wr, "deploy"); wr.Status.Phase != krtv1.WorkflowSucceeded || n.Cluster != "flaky" || hasCondition(wr, "ClusterUnavailable") {
		t.Fatalf("run ended %s, conditions %v", describe(wr), wr.Status.Conditions)
	}
	// Its output is read where it ran, through the Cluster's Secret.
	out, code := krt(t, hub.env.Kubeconfig, "wf", "logs", "far", "-n", ns)
	if code != 0 || !strings.Contains(out, "--- deploy (on flaky, Run ") || !strings.Contains(out, "\ndeployed\n") {
		t.Errorf("krt wf logs: exit %d:\n%s", code, out)
	}
	list := &krtv1.RunList{}
	if err := staging.env.Client.List(ctx, list, client.InNamespace("staging-flaky")); err != nil || len(list.Items) != 1 {
		t.Errorf("staging has %d Runs (%v), want 1", len(list.Items), err)
	}
}

// registerAt registers c as Cluster name with its API server's address
// replaced by addr, and does not wait for it to be reachable.
func registerAt(t *testing.T, hubNS, name string, c cluster, remoteNS, addr string) {
	t.Helper()
	ctx := context.Background()
	kubeconfig, err := os.ReadFile(c.env.Kubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	// Config.Host ends in "/", the kubeconfig's server does not: without
	// the trim nothing is replaced, and the Cluster reaches c directly
	// whenever it connects before the run's first pass.
	host := strings.TrimSuffix(strings.TrimPrefix(c.env.Config.Host, "https://"), "/")
	moved := strings.ReplaceAll(string(kubeconfig), host, addr)
	secret := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: name + "-kubeconfig", Namespace: hubNS},
		Data: map[string][]byte{"value": []byte(moved)}}
	cl := &krtv1.Cluster{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: hubNS}, Spec: krtv1.ClusterSpec{
		KubeconfigSecretRef: krtv1.SecretKeySelector{Name: secret.Name, Key: "value"}, Namespace: remoteNS}}
	for _, o := range []client.Object{secret, cl} {
		if err := hub.env.Client.Create(ctx, o); err != nil {
			t.Fatal(err)
		}
	}
	// Namespaces are never emptied here (envtest has no namespace
	// controller): without this the hub would probe the proxy for good.
	t.Cleanup(func() { _ = hub.env.Client.Delete(ctx, cl) })
}

// proxy forwards TCP connections from addr to target until the test ends.
func proxy(t *testing.T, addr, target string) {
	t.Helper()
	l, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	go func() {
		for {
			in, err := l.Accept()
			if err != nil {
				return
			}
			go forward(in, target)
		}
	}()
}

func forward(in net.Conn, target string) {
	defer in.Close()
	out, err := net.Dial("tcp", target)
	if err != nil {
		return
	}
	defer out.Close()
	go func() { _, _ = io.Copy(out, in) }()
	_, _ = io.Copy(in, out)
}
