package promote

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	krtv1 "krt.dev/krt/api/v1alpha1"
	"krt.dev/krt/workflows/parse"
)

// eventually polls cond until it holds, failing with its last word.
func eventually(t *testing.T, timeout time.Duration, what string, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	last := ""
	for time.Now().Before(deadline) {
		ok, why := cond()
		if ok {
			return
		}
		last = why
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("timed out after %s waiting for %s: %s%s", timeout, what, last, hub.stack.ControllerState())
}

// namespace creates ns in a cluster (remote clusters get fixed names, as
// a Cluster object names its namespace).
func namespace(t *testing.T, c cluster, name string) {
	t.Helper()
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}
	if err := c.env.Client.Create(context.Background(), ns); err != nil {
		t.Fatal(err)
	}
}

// runtime creates a bash-and-python Runtime and waits for its local pods.
func runtime(t *testing.T, c cluster, ns, name string, secrets ...string) {
	t.Helper()
	rt := &krtv1.Runtime{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
		Spec: krtv1.RuntimeSpec{Replicas: ptr.To[int32](1), Capacity: 8, Secrets: secrets,
			Languages: []krtv1.Language{krtv1.LanguageBash, krtv1.LanguagePython}},
	}
	if name == "python" {
		rt.Spec.Languages = []krtv1.Language{krtv1.LanguagePython}
	}
	if err := c.env.Client.Create(context.Background(), rt); err != nil {
		t.Fatal(err)
	}
	eventually(t, 2*time.Minute, "runtime "+ns+"/"+name+" to be ready", func() (bool, string) {
		cur := &krtv1.Runtime{}
		if err := c.env.Client.Get(context.Background(), client.ObjectKeyFromObject(rt), cur); err != nil {
			return false, err.Error()
		}
		return cur.Status.ReadyPods >= 1, fmt.Sprintf("%d ready pods", cur.Status.ReadyPods)
	})
}

// register makes c known to the hub as Cluster name, running steps in
// remoteNS there, and waits until the hub has connected.
func register(t *testing.T, hubNS, name string, c cluster, remoteNS string) {
	t.Helper()
	kubeconfig, err := os.ReadFile(c.env.Kubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	secret := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: name + "-kubeconfig", Namespace: hubNS},
		Data: map[string][]byte{"value": kubeconfig}}
	if err := hub.env.Client.Create(ctx, secret); err != nil {
		t.Fatal(err)
	}
	cl := &krtv1.Cluster{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: hubNS}, Spec: krtv1.ClusterSpec{
		KubeconfigSecretRef: krtv1.SecretKeySelector{Name: secret.Name, Key: "value"}, Namespace: remoteNS}}
	if err := hub.env.Client.Create(ctx, cl); err != nil {
		t.Fatal(err)
	}
	eventually(t, time.Minute, "cluster "+name+" to be Ready", func() (bool, string) {
		cur := &krtv1.Cluster{}
		if err := hub.env.Client.Get(ctx, client.ObjectKeyFromObject(cl), cur); err != nil {
			return false, err.Error()
		}
		ready := apimeta.FindStatusCondition(cur.Status.Conditions, krtv1.ConditionReady)
		return ready != nil && ready.Status == metav1.ConditionTrue, fmt.Sprint(cur.Status.Conditions)
	})
}

// apply parses example files as the source controller would and creates
// their objects in the hub.
func apply(t *testing.T, ns string, edit func(client.Object), files ...string) {
	t.Helper()
	for _, f := range files {
		data, err := os.ReadFile(filepath.Join("..", "..", "workflows", "parse", "testdata", "examples", f))
		if err != nil {
			t.Fatal(err)
		}
		docs, errs := parse.File(f, data)
		if len(errs) > 0 {
			t.Fatalf("%s: %v", f, errs)
		}
		for _, d := range docs {
			d.Object.SetNamespace(ns)
			if edit != nil {
				edit(d.Object)
			}
			if err := hub.env.Client.Create(context.Background(), d.Object); err != nil {
				t.Fatal(err)
			}
		}
	}
}

// waitRun waits until the WorkflowRun satisfies cond.
func waitRun(t *testing.T, ns, name, what string, cond func(*krtv1.WorkflowRun) bool) *krtv1.WorkflowRun {
	t.Helper()
	wr := &krtv1.WorkflowRun{}
	eventually(t, 2*time.Minute, "run "+name+" to "+what, func() (bool, string) {
		if err := hub.env.Client.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: name}, wr); err != nil {
			return false, err.Error()
		}
		return cond(wr), describe(wr)
	})
	return wr
}

func describe(wr *krtv1.WorkflowRun) string {
	var b strings.Builder
	fmt.Fprintf(&b, "phase %s %q; nodes:", wr.Status.Phase, wr.Status.Message)
	for _, n := range wr.Status.Nodes {
		fmt.Fprintf(&b, " %s=%s(%s)", n.Name, n.Phase, n.Message)
	}
	return b.String()
}

func node(wr *krtv1.WorkflowRun, name string) krtv1.NodeStatus {
	for _, n := range wr.Status.Nodes {
		if n.Name == name {
			return n
		}
	}
	return krtv1.NodeStatus{}
}

// krt runs the real CLI against the hub with a kubeconfig.
func krt(t *testing.T, kubeconfig string, args ...string) (string, int) {
	t.Helper()
	cmd := exec.Command(bins.Krt, args...)
	cmd.Env = append(os.Environ(), "KUBECONFIG="+kubeconfig)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	var exit *exec.ExitError
	switch {
	case errors.As(err, &exit):
		return out.String(), exit.ExitCode()
	case err != nil:
		t.Fatal(err)
	}
	return out.String(), 0
}
