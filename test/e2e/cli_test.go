package e2e

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"sigs.k8s.io/yaml"

	krtv1 "krt.dev/krt/api/v1alpha1"
)

func TestCLIRunWait(t *testing.T) {
	ns := setupRuntime(t, "bash", 1, 2)
	cases := []struct {
		name       string
		args       []string
		wantCode   int
		wantStdout string
		wantStderr string
	}{
		{name: "succeeds", args: []string{"--", "echo", "hi"}, wantStdout: "hi\n", wantStderr: "Succeeded"},
		{name: "exit code", args: []string{"--", "echo oops >&2; exit 7"}, wantCode: 7, wantStdout: "oops\n", wantStderr: "Failed: exit code 7: oops"},
		{name: "timeout", args: []string{"--timeout", "300ms", "--", "sleep 30"}, wantCode: 124, wantStderr: "Timeout"},
		{name: "env", args: []string{"--env", "WHO=krt", "--", `echo "hello $WHO"`}, wantStdout: "hello krt\n"},
		{name: "unknown runtime is explained", args: []string{"-r", "nope", "--timeout", "1s", "--", "true"}, wantCode: -1, wantStderr: `runtime "nope" does not exist`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			args := append([]string{"run", "-n", ns, "--wait"}, tc.args...)
			if tc.wantCode == -1 {
				// It would wait forever: run without --wait and look at it.
				args = append([]string{"run", "-n", ns}, tc.args...)
			}
			stdout, stderr, code := krt(t, args...)
			if tc.wantCode == -1 {
				name := strings.TrimSuffix(strings.TrimPrefix(strings.TrimSpace(stdout), "run.krt.dev/"), " created")
				run := waitRun(t, &krtv1.Run{ObjectMeta: objectMeta(ns, name)}, time.Minute, "explain itself", func(r *krtv1.Run) bool { return r.Status.Message != "" })
				stdout, stderr, code = krt(t, "get", "-n", ns, "-o", "wide", run.Name)
				if !strings.Contains(stdout, "RuntimeNotFound") {
					t.Errorf("krt get -o wide = %q, want the reason", stdout)
				}
				stderr = run.Status.Message
				code = -1
			}
			if code != tc.wantCode {
				t.Errorf("exit code = %d, want %d\nstderr: %s", code, tc.wantCode, stderr)
			}
			if tc.wantStdout != "" && stdout != tc.wantStdout {
				t.Errorf("stdout = %q, want %q", stdout, tc.wantStdout)
			}
			if !strings.Contains(stderr, tc.wantStderr) {
				t.Errorf("stderr = %q, want it to mention %q", stderr, tc.wantStderr)
			}
		})
	}
}

func TestCLIGetAndList(t *testing.T) {
	ns := setupRuntime(t, "bash", 1, 2)
	stdout, stderr, code := krt(t, "run", "-n", ns, "-o", "name", "--", "echo listed")
	if code != 0 {
		t.Fatalf("krt run: %d %s", code, stderr)
	}
	name := strings.TrimPrefix(strings.TrimSpace(stdout), "run.krt.dev/")
	waitDone(t, &krtv1.Run{ObjectMeta: objectMeta(ns, name)})

	stdout, _, _ = krt(t, "get", "-n", ns, name, "-o", "yaml")
	var fromYAML krtv1.Run
	if err := yaml.Unmarshal([]byte(stdout), &fromYAML); err != nil || fromYAML.Kind != "Run" || fromYAML.Status.Phase != krtv1.RunSucceeded {
		t.Errorf("krt get -o yaml: %v, kind %q, phase %q", err, fromYAML.Kind, fromYAML.Status.Phase)
	}
	stdout, _, _ = krt(t, "get", "-n", ns, name, "-o", "json")
	var fromJSON krtv1.Run
	if err := json.Unmarshal([]byte(stdout), &fromJSON); err != nil || fromJSON.Name != name {
		t.Errorf("krt get -o json: %v, name %q", err, fromJSON.Name)
	}
	stdout, _, _ = krt(t, "list", "-n", ns)
	if !strings.HasPrefix(stdout, "NAME") || !strings.Contains(stdout, name) || !strings.Contains(stdout, "Succeeded") {
		t.Errorf("krt list =\n%s", stdout)
	}
	if _, stderr, code := krt(t, "get", "-n", ns, "missing"); code == 0 || !strings.Contains(stderr, "not found") {
		t.Errorf("krt get missing: exit %d, %q", code, stderr)
	}
}
