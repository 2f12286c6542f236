package security

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	krtv1 "krt.dev/krt/api/v1alpha1"
)

func secretEnv(name, secret, key string) []krtv1.SecretEnvVar {
	return []krtv1.SecretEnvVar{{Name: name, SecretKeyRef: krtv1.SecretKeySelector{Name: secret, Key: key}}}
}

func createSecret(t *testing.T, ns, name string, data map[string]string) {
	t.Helper()
	s := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns}, StringData: data}
	if err := env.Client.Create(context.Background(), s); err != nil {
		t.Fatal(err)
	}
}

// randomText is n bytes of base64, on one line.
func randomText(t *testing.T, n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return base64.RawStdEncoding.EncodeToString(b)[:n]
}

// TestLongSecretNeverLeaks has steps print a 100 KiB single-line secret in
// the ways a script would, and looks for any piece of it wherever a user or
// another tenant could read the Run: krt logs, runtimed's container log,
// the log server, the Run's outputs and message.
func TestLongSecretNeverLeaks(t *testing.T) {
	ns := logsRuntime(t, "masking", 1, "big")
	secret := randomText(t, 100<<10)
	createSecret(t, ns, "big", map[string]string{"token": secret})
	cases := []struct {
		name      string
		script    string
		wantPhase krtv1.RunPhase
		wantLog   string
	}{
		{name: "to stdout and stderr", wantPhase: krtv1.RunSucceeded, wantLog: "token=***;",
			script: `echo "token=$TOKEN;"; echo "$TOKEN" >&2; printf '%s' "$TOKEN"; printf '%s%s\n' "$TOKEN" "$TOKEN"`},
		{name: "in the stderr tail of a failure", wantPhase: krtv1.RunFailed, wantLog: "bad ***",
			script: `echo "bad $TOKEN" >&2; exit 3`},
		{name: "as an output", wantPhase: krtv1.RunFailed, wantLog: "wrote it",
			script: `echo "leak=$TOKEN" >> "$KRT_OUTPUTS"; echo wrote it`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			run := logsRun(t, ns, krtv1.RunSpec{Runtime: "masking", Script: tc.script, SecretEnv: secretEnv("TOKEN", "big", "token")}, 2*time.Minute)
			if run.Status.Phase != tc.wantPhase {
				t.Fatalf("phase = %s (%.300s), want %s", run.Status.Phase, run.Status.Message, tc.wantPhase)
			}
			pod := podOf(t, run)
			logs := krtLogs(t, run)
			code, served := serverLog(t, pod, run, pod.LogsToken)
			if code != 200 || !strings.Contains(logs, tc.wantLog) {
				t.Fatalf("krt logs = %.300q (log server: %d); want %q in it", logs, code, tc.wantLog)
			}
			var outputs strings.Builder
			for k, v := range run.Status.Outputs {
				outputs.WriteString(k + "=" + v + "\n")
			}
			for where, text := range map[string]string{"krt logs": logs, "the log server": served,
				"runtimed's container log": containerLog(t, pod), "the Run's message": run.Status.Message, "the Run's outputs": outputs.String()} {
				if w, ok := leakedWindow(secret, text, 64); ok {
					t.Errorf("64 bytes of the secret leaked into %s: %q", where, w)
				}
			}
		})
	}
}

// pemKey is a key in the form ssh-keygen writes: armor lines, 70-character
// body lines and a short last one.
func pemKey(t *testing.T) (key string, body []string) {
	body = []string{randomText(t, 70), randomText(t, 70), randomText(t, 70), "Ag=="}
	key = "-----BEGIN OPENSSH PRIVATE KEY-----\n" + strings.Join(body, "\n") + "\n-----END OPENSSH PRIVATE KEY-----\n"
	return key, body
}

// TestMultiLineSecretIsMaskedWhole prints a PEM key from secretEnv whole,
// line by line and unquoted, beside its armor lines printed on their own.
func TestMultiLineSecretIsMaskedWhole(t *testing.T) {
	ns := logsRuntime(t, "pem", 1, "ssh")
	key, body := pemKey(t)
	createSecret(t, ns, "ssh", map[string]string{"id": key})
	run := logsRun(t, ns, krtv1.RunSpec{Runtime: "pem", SecretEnv: secretEnv("KEY", "ssh", "id"), Script: `
printf '%s\n' "$KEY"
echo "-----BEGIN OPENSSH PRIVATE KEY-----"
echo "-----END OPENSSH PRIVATE KEY-----"
echo $KEY
printf '%s\n' "$KEY" | sed -n 3p
printf 'key<<KRT_EOF\n%s\nKRT_EOF\n' "$KEY" >> "$KRT_OUTPUTS"
`}, 2*time.Minute)
	if run.Status.Phase != krtv1.RunSucceeded {
		t.Fatalf("phase = %s (%s)", run.Status.Phase, run.Status.Message)
	}
	want := []string{
		"***",                                 // the whole key, as one
		"",                                    // the key's own trailing newline
		"-----BEGIN OPENSSH PRIVATE KEY-----", // armor lines alone are not garbled
		"-----END OPENSSH PRIVATE KEY-----",
		// unquoted: the body lines are masked on their own; armor and the
		// short last line are not secret material
		"-----BEGIN OPENSSH PRIVATE KEY----- *** *** *** Ag== -----END OPENSSH PRIVATE KEY-----",
		"***", // one body line alone
	}
	if got := strings.Split(strings.TrimSuffix(krtLogs(t, run), "\n"), "\n"); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("krt logs =\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if got := run.Status.Outputs["key"]; got != "***\n" { // and the key's own trailing newline
		t.Errorf("outputs[key] = %q, want the key masked whole", got)
	}
	for _, line := range body[:3] {
		if strings.Contains(containerLog(t, podOf(t, run)), line) {
			t.Errorf("a body line of the key is in runtimed's container log: %q", line)
		}
	}
}
