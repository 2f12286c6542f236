package security

import (
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	krtv1 "krt.dev/krt/api/v1alpha1"
)

// secretLines are the parts of a secret that must never be readable: the
// whole value, and each line long enough to be masked on its own.
func secretLines(secret string) []string {
	out := []string{strings.TrimSpace(secret)}
	for _, l := range strings.Split(secret, "\n") {
		if l = strings.TrimSpace(l); len(l) >= 8 {
			out = append(out, l)
		}
	}
	return out
}

// leaks names each place that shows any part of the secrets.
func leaks(t *testing.T, places map[string]string, secrets ...string) {
	t.Helper()
	for where, text := range places {
		for _, s := range secrets {
			for _, part := range secretLines(s) {
				if strings.Contains(text, part) {
					t.Errorf("%s shows secret file content %.40q", where, part)
				}
			}
			if w, ok := leakedWindow(s, text, 32); ok && len(s) >= 64 {
				t.Errorf("32 bytes of a secret file leaked into %s: %q", where, w)
			}
		}
	}
}

// filesHolding lists the files under dir whose content holds s: a secret
// file left behind once its Run is done would be one.
func filesHolding(t *testing.T, dir, s string) []string {
	t.Helper()
	var found []string
	_ = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !d.Type().IsRegular() {
			return nil
		}
		if data, err := os.ReadFile(p); err == nil && strings.Contains(string(data), s) {
			found = append(found, p)
		}
		return nil
	})
	return found
}

// TestSecretFileContentNeverLeaks has steps read their secret files and
// print them the ways a script would, and looks for any part of them where
// a user or another tenant could read the Run: krt logs, the log server,
// runtimed's container log, the Run's message and outputs. Once the Run is
// done, no file on the pod holds them any more.
func TestSecretFileContentNeverLeaks(t *testing.T) {
	ns := logsRuntime(t, "files", 1, "creds")
	token := randomText(t, 4096)
	key, _ := pemKey(t)
	createSecret(t, ns, "creds", map[string]string{"token": token, "id_key": key})
	files := []krtv1.SecretFile{{Name: "creds", Secret: "creds", MountPath: "/etc/creds"}}
	cases := []struct {
		name      string
		spec      krtv1.RunSpec
		wantPhase krtv1.RunPhase
		wantLog   string
	}{
		{name: "printed through the declared path", wantPhase: krtv1.RunSucceeded, wantLog: "token=***",
			spec: krtv1.RunSpec{Script: `echo "token=$(cat "$CREDS/token")"; cat "$CREDS/id_key"; cat "$CREDS/id_key" >&2`,
				Env: []krtv1.EnvVar{{Name: "CREDS", Value: "/etc/creds"}}}},
		{name: "through KRT_SECRETS_DIR, in the stderr tail of a failure", wantPhase: krtv1.RunFailed, wantLog: "bad ***",
			spec: krtv1.RunSpec{Script: `echo "bad $(cat "$KRT_SECRETS_DIR/creds/token")" >&2; exit 3`}},
		{name: "as an output, which keeps it masked", wantPhase: krtv1.RunSucceeded, wantLog: "wrote it",
			spec: krtv1.RunSpec{Script: `echo "leak=$(cat "$KRT_SECRETS_DIR/creds/token")" >> "$KRT_OUTPUTS"; echo wrote it`}},
		{name: "by a command, the declared path rewritten", wantPhase: krtv1.RunSucceeded, wantLog: "***",
			spec: krtv1.RunSpec{Command: []string{"cat", "/etc/creds/token"}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tc.spec.Runtime, tc.spec.SecretFiles = "files", files
			run := logsRun(t, ns, tc.spec, 2*time.Minute)
			if run.Status.Phase != tc.wantPhase {
				t.Fatalf("phase = %s (%.300s), want %s", run.Status.Phase, run.Status.Message, tc.wantPhase)
			}
			pod := podOf(t, run)
			logs := krtLogs(t, run)
			code, served := serverLog(t, pod, run, pod.LogsToken)
			if code != 200 || !strings.Contains(logs, tc.wantLog) {
				t.Fatalf("krt logs = %.300q (log server: %d); want %q in it", logs, code, tc.wantLog)
			}
			if v, ok := run.Status.Outputs["leak"]; ok && v != "***" {
				t.Errorf("output leak = %.40q, want ***", v)
			}
			var outputs strings.Builder
			for k, v := range run.Status.Outputs {
				outputs.WriteString(k + "=" + v + "\n")
			}
			leaks(t, map[string]string{"krt logs": logs, "the log server": served, "runtimed's container log": containerLog(t, pod),
				"the Run's message": run.Status.Message, "the Run's outputs": outputs.String()}, token, key)
			eventually(t, 30*time.Second, "the Run's secret files to be removed from its pod", func() bool {
				return len(filesHolding(t, pod.Dir, token[:64])) == 0
			})
		})
	}
}

// TestDisallowedSecretFileIsRefused asks, as a tenant who may create Runs,
// for a Secret the Runtime does not allow, as files: the Run fails before
// anything starts, saying which Secrets the Runtime allows, and its step
// never ran.
func TestDisallowedSecretFileIsRefused(t *testing.T) {
	ns := logsRuntime(t, "narrow", 1, "allowed")
	createSecret(t, ns, "allowed", map[string]string{"k": "fine-value-1234"})
	createSecret(t, ns, "payroll-db", map[string]string{"password": "hunter2-payroll-" + randomText(t, 16)})
	marker := filepath.Join(t.TempDir(), "ran")
	cases := []struct {
		name  string
		files []krtv1.SecretFile
	}{
		{name: "as files", files: []krtv1.SecretFile{{Name: "db", Secret: "payroll-db", MountPath: "/db"}}},
		{name: "as files beside an allowed one", files: []krtv1.SecretFile{
			{Name: "ok", Secret: "allowed"}, {Name: "db", Secret: "payroll-db"}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			run := logsRun(t, ns, krtv1.RunSpec{Runtime: "narrow", SecretFiles: tc.files,
				Script: "touch " + marker + "; cat /db $KRT_SECRETS_DIR/db"}, time.Minute)
			want := `Secret "payroll-db" is not one of runtime "narrow"'s spec.secrets [allowed]`
			if run.Status.Phase != krtv1.RunFailed || run.Status.Reason != krtv1.ReasonSecretNotFound || !strings.Contains(run.Status.Message, want) {
				t.Fatalf("phase %s, reason %s, message %q; want Failed, %s, %q", run.Status.Phase, run.Status.Reason, run.Status.Message, krtv1.ReasonSecretNotFound, want)
			}
			if _, err := os.Stat(marker); err == nil {
				t.Fatal("the step ran although its Secret was refused")
			}
		})
	}
}
