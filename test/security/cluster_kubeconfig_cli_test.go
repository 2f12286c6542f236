package security

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	krtv1 "krt.dev/krt/api/v1alpha1"
	"krt.dev/krt/controllers/cluster"
	"krt.dev/krt/test/kubetest"
)

// `krt wf logs` reads a remote node's logs through its Cluster's
// kubeconfig, on the laptop of whoever runs it. A tenant who swaps that
// Secret for one with an exec plugin, after a run, gets the plugin refused
// with the controller's message; only --insecure-kubeconfig-exec runs it.
func TestCLIRefusesClusterKubeconfigExec(t *testing.T) {
	ctx := context.Background()
	ns := env.Namespace(t)
	createBashRuntime(t, ns)
	own, err := os.ReadFile(env.Kubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	// The Cluster is this API server itself, steps' Runs in ns.
	cl := createTenantCluster(t, ns, "self", own)
	waitClusterCondition(t, cl, krtv1.ConditionReady, metav1.ConditionTrue, cluster.ReasonConnected)
	wr := &krtv1.WorkflowRun{ObjectMeta: metav1.ObjectMeta{Name: "remote-logs", Namespace: ns},
		Spec: krtv1.WorkflowRunSpec{Workflow: "remote-logs",
			Definition: krtv1.WorkflowSpec{On: krtv1.Triggers{Manual: &krtv1.ManualTrigger{}}, Steps: []krtv1.Step{
				{Name: "hello", Cluster: "self", Runtime: "bash", Run: "echo hello from self"}}},
			Event: krtv1.WorkflowEvent{Type: krtv1.EventManual, Manual: &krtv1.ManualEvent{User: kubetest.AdminUser}}}}
	if err := env.Client.Create(ctx, wr); err != nil {
		t.Fatal(err)
	}
	eventually(t, 2*time.Minute, "run remote-logs to succeed", func() bool {
		return env.Client.Get(ctx, client.ObjectKeyFromObject(wr), wr) == nil && wr.Status.Phase == krtv1.WorkflowSucceeded
	})
	if out, code := runKrtCLI(t, "wf", "logs", wr.Name, "-n", ns); code != 0 || !strings.Contains(out, "\nhello from self\n") {
		t.Fatalf("before the swap, krt wf logs: exit %d:\n%s", code, out)
	}

	marker := filepath.Join(t.TempDir(), "pwned")
	secret := &corev1.Secret{}
	if err := env.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: cl.Spec.KubeconfigSecretRef.Name}, secret); err != nil {
		t.Fatal(err)
	}
	var user string
	secret.Data["kubeconfig"], user = withExecPlugin(t, own, "touch "+marker)
	if err := env.Client.Update(ctx, secret); err != nil {
		t.Fatal(err)
	}

	out, code := runKrtCLI(t, "wf", "logs", wr.Name, "-n", ns)
	t.Logf("after the swap, krt wf logs says:\n%s", out)
	want := `user "` + user + `" sets exec, which runs a command on krt's host`
	for _, w := range []string{want, "--" + cluster.FlagInsecureExec} {
		if !strings.Contains(out, w) {
			t.Errorf("krt wf logs does not say %q:\n%s", w, out)
		}
	}
	if code != 1 {
		t.Errorf("krt wf logs exited %d, want 1", code)
	}
	if _, err := os.Stat(marker); err == nil {
		t.Fatalf("the exec plugin ran on the CLI's host: %s exists", marker)
	}

	// An operator who opts in gets the plugin run.
	_, _ = runKrtCLI(t, "wf", "logs", wr.Name, "-n", ns, "--"+cluster.FlagInsecureExec)
	if _, err := os.Stat(marker); err != nil {
		t.Errorf("with --%s the exec plugin did not run: %v", cluster.FlagInsecureExec, err)
	}
}

// withExecPlugin replaces the current user's credentials in kubeconfig
// with an exec plugin running script, and names that user.
func withExecPlugin(t *testing.T, kubeconfig []byte, script string) ([]byte, string) {
	t.Helper()
	cfg, err := clientcmd.Load(kubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	user := cfg.Contexts[cfg.CurrentContext].AuthInfo
	cfg.AuthInfos[user] = &clientcmdapi.AuthInfo{Exec: &clientcmdapi.ExecConfig{APIVersion: "client.authentication.k8s.io/v1",
		Command: "/bin/sh", Args: []string{"-c", script}, InteractiveMode: clientcmdapi.NeverExecInteractiveMode}}
	raw, err := clientcmd.Write(*cfg)
	if err != nil {
		t.Fatal(err)
	}
	return raw, user
}

// createBashRuntime creates a bash Runtime in ns and waits for its pod.
func createBashRuntime(t *testing.T, ns string) {
	t.Helper()
	rt := &krtv1.Runtime{ObjectMeta: metav1.ObjectMeta{Name: "bash", Namespace: ns},
		Spec: krtv1.RuntimeSpec{Replicas: ptr.To[int32](1), Capacity: 2, Languages: []krtv1.Language{krtv1.LanguageBash}}}
	if err := env.Client.Create(context.Background(), rt); err != nil {
		t.Fatal(err)
	}
	eventually(t, 2*time.Minute, "runtime "+ns+"/bash to have a ready pod", func() bool {
		cur := &krtv1.Runtime{}
		return env.Client.Get(context.Background(), client.ObjectKeyFromObject(rt), cur) == nil && cur.Status.ReadyPods >= 1
	})
}

// runKrtCLI runs the real krt CLI as the admin, returning its combined
// output and exit code.
func runKrtCLI(t *testing.T, args ...string) (string, int) {
	t.Helper()
	return runKrtCLIAs(t, env.Kubeconfig, args...)
}

// runKrtCLIAs runs the krt CLI with the given kubeconfig and returns its
// combined output and exit code.
func runKrtCLIAs(t *testing.T, kubeconfig string, args ...string) (string, int) {
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
