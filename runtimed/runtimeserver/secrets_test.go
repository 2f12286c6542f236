package runtimeserver

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	runtimev1 "krt.dev/krt/api/runtime/v1"
)

// TestSecretFilesAreWrittenPrivatelyAndGoWithTheProcess runs real
// processes that read their secret files through the paths they were
// declared at, and checks the files' modes and that none outlives the
// process.
func TestSecretFilesAreWrittenPrivatelyAndGoWithTheProcess(t *testing.T) {
	c, _ := serve(t)
	files := []*runtimev1.SecretFile{
		{Name: "kubeconfig", MountPath: "/secrets/kubeconfig", Files: map[string][]byte{"config": []byte("apiVersion: v1\nkind: Config\n")}},
		{Name: "aws", MountPath: "/root/.aws", Files: map[string][]byte{"credentials": []byte("[default]\n"), "config": []byte("region=x\n")}},
	}
	cases := []struct {
		name string
		req  *runtimev1.ExecuteRequest
		want string
	}{
		{name: "a one-key Secret is the file at its mount path, by env",
			req: &runtimev1.ExecuteRequest{Script: `cat "$KUBECONFIG"; stat -c '%a' "$KUBECONFIG" "$(dirname "$KUBECONFIG")"`,
				Env: map[string]string{"KUBECONFIG": "/secrets/kubeconfig"}},
			want: "apiVersion: v1\nkind: Config\n400\n700\n"},
		{name: "a several-key Secret is a directory, by command argument",
			req:  &runtimev1.ExecuteRequest{Command: []string{"cat", "/root/.aws/credentials", "/root/.aws/config"}},
			want: "[default]\nregion=x\n"},
		{name: "every file under KRT_SECRETS_DIR",
			req:  &runtimev1.ExecuteRequest{Script: `cd "$KRT_SECRETS_DIR"; find . -type f | sort`},
			want: "./aws/config\n./aws/credentials\n./kubeconfig\n"},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tc.req.Id, tc.req.SecretFiles = "s/"+string(rune('a'+i)), files
			o := execute(t, c, tc.req)
			if o.exit.GetCode() != 0 || o.stdout != tc.want {
				t.Fatalf("exit %d, stdout %q (stderr %q); want %q", o.exit.GetCode(), o.stdout, o.stderr, tc.want)
			}
			dir := filepath.Dir(o.started.GetWorkdir())
			if _, err := os.Stat(secretsDir(dir)); !os.IsNotExist(err) {
				t.Fatalf("the secrets directory outlived the process: %v", err)
			}
		})
	}
}

// TestSecretFileNamesStayInTheirDirectory refuses names and keys that
// would write outside the execution's directory.
func TestSecretFileNamesStayInTheirDirectory(t *testing.T) {
	c, root := serve(t)
	for i, sf := range []*runtimev1.SecretFile{
		{Name: "../escape", Files: map[string][]byte{"k": []byte("v")}},
		{Name: "ok", Files: map[string][]byte{"../../escape": []byte("v"), "b": []byte("w")}},
	} {
		o := execute(t, c, &runtimev1.ExecuteRequest{Id: "bad/" + string(rune('a'+i)), Script: "true", SecretFiles: []*runtimev1.SecretFile{sf}})
		if o.exit.GetReason() != runtimev1.ExitReason_EXIT_REASON_START_FAILED || !strings.Contains(o.exit.GetMessage(), "not a plain file name") {
			t.Fatalf("exit %v %q; want a refused start", o.exit.GetReason(), o.exit.GetMessage())
		}
	}
	if matches, _ := filepath.Glob(filepath.Join(root, "..", "escape")); len(matches) > 0 {
		t.Fatalf("a secret file escaped: %v", matches)
	}
}

func TestRewritePath(t *testing.T) {
	paths := map[string]string{"/secrets": "/w/secrets/all", "/secrets/kubeconfig": "/w/secrets/kubeconfig", "/root/.aws": "/w/secrets/aws"}
	for in, want := range map[string]string{
		"/secrets/kubeconfig":    "/w/secrets/kubeconfig",
		"/secrets/other":         "/w/secrets/all/other",
		"/root/.aws/credentials": "/w/secrets/aws/credentials",
		"/root/.awsx":            "/root/.awsx",
		"plain value":            "plain value",
		"/secrets":               "/w/secrets/all",
	} {
		if got := rewritePath(in, paths); got != want {
			t.Errorf("rewritePath(%q) = %q, want %q", in, got, want)
		}
	}
}
