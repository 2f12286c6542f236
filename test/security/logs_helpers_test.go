package security

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	krtv1 "krt.dev/krt/api/v1alpha1"
	"krt.dev/krt/runtimed/localpool"
)

// logsRuntime creates a namespace with a Runtime in it and waits until its
// local pods are ready and heartbeating.
func logsRuntime(t *testing.T, name string, replicas int32, secrets ...string) string {
	t.Helper()
	ns := env.Namespace(t)
	startRuntime(t, ns, name, replicas, func(rt *krtv1.Runtime) {
		rt.Spec.Capacity, rt.Spec.Secrets = 1, secrets
	})
	return ns
}

// logsRun creates a Run and waits until it has finished.
func logsRun(t *testing.T, ns string, spec krtv1.RunSpec, timeout time.Duration) *krtv1.Run {
	t.Helper()
	run := &krtv1.Run{ObjectMeta: metav1.ObjectMeta{GenerateName: "t-", Namespace: ns}, Spec: spec}
	if err := env.Client.Create(context.Background(), run); err != nil {
		t.Fatalf("creating run: %v", err)
	}
	eventually(t, timeout, "run "+run.Name+" to finish", func() bool {
		return env.Client.Get(context.Background(), client.ObjectKeyFromObject(run), run) == nil && run.Status.Phase.Terminal()
	})
	return run
}

// podOf is the local pod a Run ran on.
func podOf(t *testing.T, run *krtv1.Run) localpool.PodInfo {
	t.Helper()
	for _, p := range pool.Pods(run.Namespace, run.Spec.Runtime) {
		if p.Name == run.Status.AssignedPod {
			return p
		}
	}
	t.Fatalf("run %s ran on pod %q, which the local pool does not run", run.Name, run.Status.AssignedPod)
	return localpool.PodInfo{}
}

// krtLogs runs the real `krt logs` as the admin.
func krtLogs(t *testing.T, run *krtv1.Run) string {
	t.Helper()
	cmd := exec.Command(bins.Krt, "logs", "-n", run.Namespace, run.Name)
	cmd.Env = append(os.Environ(), "KUBECONFIG="+env.Kubeconfig)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	if err := cmd.Run(); err != nil {
		t.Fatalf("krt logs %s: %v: %s", run.Name, err, errOut.String())
	}
	return out.String()
}

// serverLog asks a pod's runtimed log server for a Run's log with a token,
// or none, and returns the status and body.
func serverLog(t *testing.T, pod localpool.PodInfo, run *krtv1.Run, token string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, pod.LogsURL+"/runs/"+string(run.UID)+"/logs", nil)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(body)
}

// containerLog is what runtimed wrote to its stdout: a cluster's
// `krt logs` reads this through pods/log.
func containerLog(t *testing.T, pod localpool.PodInfo) string {
	t.Helper()
	data, err := os.ReadFile(pod.Dir + "/runtimed.log")
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		t.Fatal(err)
	}
	return string(data)
}

// leakedWindow returns a window of the secret, of the given size, that
// appears in text.
func leakedWindow(secret, text string, window int) (string, bool) {
	for i := 0; i+window <= len(secret); i += window / 2 {
		if w := secret[i : i+window]; strings.Contains(text, w) {
			return w, true
		}
	}
	return "", false
}
