package e2e

import (
	"bufio"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	krtv1 "krt.dev/krt/api/v1alpha1"
)

func TestSecretEnvIsMaskedInLogsAndOutputs(t *testing.T) {
	ns := setupRuntime(t, "secret", 1, 2, func(rt *krtv1.Runtime) { rt.Spec.Secrets = []string{"deploy-token"} })
	const value = "hunter2-correct-horse"
	secret := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "deploy-token", Namespace: ns},
		StringData: map[string]string{"token": value}}
	if err := env.Client.Create(context.Background(), secret); err != nil {
		t.Fatal(err)
	}
	run := waitDone(t, newRun(t, ns, krtv1.RunSpec{Runtime: "secret",
		Script: `echo "token is $TOKEN"
echo "to stderr: $TOKEN" >&2
echo "leak=prefix-$TOKEN" >> "$KRT_OUTPUTS"
echo "length=${#TOKEN}" >> "$KRT_OUTPUTS"`,
		SecretEnv: []krtv1.SecretEnvVar{{Name: "TOKEN", SecretKeyRef: krtv1.SecretKeySelector{Name: "deploy-token", Key: "token"}}}}))
	if run.Status.Phase != krtv1.RunSucceeded {
		t.Fatalf("phase = %s (%s)", run.Status.Phase, run.Status.Message)
	}
	if got := run.Status.Outputs["leak"]; got != "prefix-***" {
		t.Errorf("outputs[leak] = %q, want the secret masked", got)
	}
	if got := run.Status.Outputs["length"]; got != "21" {
		t.Errorf("outputs[length] = %q: the script did not see the secret", got)
	}
	stdout, stderr, code := krt(t, "logs", "-n", ns, run.Name)
	if code != 0 {
		t.Fatalf("krt logs: exit %d: %s", code, stderr)
	}
	if !strings.Contains(stdout, "token is ***") || !strings.Contains(stdout, "to stderr: ***") {
		t.Errorf("krt logs = %q, want masked lines", stdout)
	}
	// runtimed's own container log: each line as JSON, tagged with the Run.
	pod := podsOf(ns, "secret")[0]
	data, err := os.ReadFile(filepath.Join(pod.Dir, "runtimed.log"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(data), `"run":"`+string(run.UID)+`"`) || !strings.Contains(string(data), `"line":"token is ***"`) {
		t.Errorf("runtimed's stdout lacks the Run's masked lines:\n%s", data)
	}
	for _, where := range []string{stdout, string(data), run.Status.Message} {
		if strings.Contains(where, value) {
			t.Fatalf("the secret value leaked: %q", where)
		}
	}
	secretFailures(t, ns, value)
}

// secretFailures checks the ways a secret could leak when a Run fails.
func secretFailures(t *testing.T, ns, value string) {
	token := []krtv1.SecretEnvVar{{Name: "TOKEN", SecretKeyRef: krtv1.SecretKeySelector{Name: "deploy-token", Key: "token"}}}
	cases := []struct {
		name        string
		script      string
		secretEnv   []krtv1.SecretEnvVar
		wantReason  string
		wantMessage string
	}{
		{name: "in the stderr tail of a failure", script: `echo "bad token $TOKEN" >&2; exit 1`, secretEnv: token,
			wantReason: krtv1.ReasonExitCode, wantMessage: "bad token ***"},
		{name: "as an output key", script: `echo "$TOKEN=1" >> "$KRT_OUTPUTS"`, secretEnv: token,
			wantReason: krtv1.ReasonOutputsInvalid, wantMessage: "an output key contains a secretEnv value"},
		{name: "from a Secret the runtime does not allow", script: "true",
			secretEnv:  []krtv1.SecretEnvVar{{Name: "X", SecretKeyRef: krtv1.SecretKeySelector{Name: "other", Key: "k"}}},
			wantReason: krtv1.ReasonSecretNotFound, wantMessage: `Secret "other" is not one of runtime "secret"'s spec.secrets`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			run := waitDone(t, newRun(t, ns, krtv1.RunSpec{Runtime: "secret", Script: tc.script, SecretEnv: tc.secretEnv}))
			if run.Status.Phase != krtv1.RunFailed || run.Status.Reason != tc.wantReason {
				t.Fatalf("phase/reason = %s/%s (%s), want Failed/%s", run.Status.Phase, run.Status.Reason, run.Status.Message, tc.wantReason)
			}
			if !strings.Contains(run.Status.Message, tc.wantMessage) || strings.Contains(run.Status.Message, value) || len(run.Status.Outputs) > 0 {
				t.Errorf("message = %q, outputs %v; want %q and no secret", run.Status.Message, run.Status.Outputs, tc.wantMessage)
			}
		})
	}
}

func TestLogsFollowStreamsWhileRunning(t *testing.T) {
	ns := setupRuntime(t, "stream", 1, 2)
	gate := filepath.Join(t.TempDir(), "go-on")
	run := newRun(t, ns, krtv1.RunSpec{Runtime: "stream",
		Script: "echo first line\nwhile [ ! -e \"$GATE\" ]; do sleep 0.05; done\necho second line",
		Env:    []krtv1.EnvVar{{Name: "GATE", Value: gate}}})

	cmd := exec.Command(bins.Krt, "logs", "-f", "-n", ns, run.Name)
	cmd.Env = append(os.Environ(), "KUBECONFIG="+env.Kubeconfig)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	lines := make(chan string)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	expectLine(t, lines, "first line")
	// The Run is blocked on the gate, so the line arrived while it ran.
	cur := &krtv1.Run{}
	if err := env.Client.Get(context.Background(), client.ObjectKeyFromObject(run), cur); err != nil || cur.Status.Phase != krtv1.RunRunning {
		t.Fatalf("phase = %s, %v; want Running while the first line streams", cur.Status.Phase, err)
	}
	if err := os.WriteFile(gate, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	expectLine(t, lines, "second line")
	if _, open := <-lines; open {
		t.Error("krt logs -f printed more than the Run wrote")
	}
	if err := cmd.Wait(); err != nil {
		t.Errorf("krt logs -f did not end cleanly with the Run: %v", err)
	}
}

func expectLine(t *testing.T, lines <-chan string, want string) {
	t.Helper()
	select {
	case got, ok := <-lines:
		if !ok || got != want {
			t.Fatalf("line = %q (open %v), want %q", got, ok, want)
		}
	case <-time.After(time.Minute):
		t.Fatalf("no line %q within a minute", want)
	}
}
