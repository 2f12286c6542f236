package validate_test

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"krt.dev/krt/cmd/krt/cli"
)

// krtValidate runs the real `krt validate` in process.
func krtValidate(t *testing.T, args ...string) (string, int) {
	t.Helper()
	var out, errOut bytes.Buffer
	code := cli.Main(append([]string{"validate"}, args...), nil, &out, &errOut)
	return out.String() + errOut.String(), code
}

func writeFiles(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// TestReferenceToolsValidate: the tools of the reference document 003,
// as written, are accepted, and read only Secrets a matching Runtime
// allows.
func TestReferenceToolsValidate(t *testing.T) {
	dir := filepath.Join("..", "..", "test", "reference", "tools")
	out, code := krtValidate(t, dir)
	if code != 0 || !strings.Contains(out, "2 workflows and tools are valid") {
		t.Fatalf("krt validate %s = %d:\n%s", dir, code, out)
	}
	runtimes := writeFiles(t, map[string]string{"rt.yaml": runtimeYAML("kubectl", "kubiya/kubectl", "prod-cluster-config") +
		"---\n" + runtimeYAML("curl", "docker.io/alpine/curl:latest", "slack-token")})
	if out, code := krtValidate(t, dir, "--runtimes", filepath.Join(runtimes, "rt.yaml")); code != 0 {
		t.Fatalf("with their Runtimes: %d:\n%s", code, out)
	}
}

func runtimeYAML(name, image string, secrets ...string) string {
	return "apiVersion: krt.dev/v1alpha1\nkind: Runtime\nmetadata:\n  name: " + name +
		"\nspec:\n  image: " + image + "\n  secrets: [" + strings.Join(secrets, ", ") + "]\n"
}

// TestToolBadInput: each mistake is reported at its file and line.
func TestToolBadInput(t *testing.T) {
	const kubectl = "name : kubectl-health-check\nimage : kubiya/kubectl:latest\ncommand :\n- kubectl\n" +
		"environment :\n- KUBECONFIG=/secrets/kubeconfig\nvolumes :\n- name : kubeconfig\n  secret : prod-cluster-config\n"
	cases := []struct {
		name     string
		tool     string
		runtimes string
		want     string
	}{
		{name: "an environment entry that is not K=V",
			tool: "name: t\nscript: echo\nenvironment:\n- A=1\n- JUST_A_NAME\n",
			want: `tool.yaml:5: environment[1]: "JUST_A_NAME" is not NAME=VALUE`},
		{name: "an environment name that is not a variable name, in a mapping",
			tool: "name: t\nscript: echo\nenvironment:\n  GOOD: x\n  1BAD: y\n",
			want: `tool.yaml:5: environment.1BAD: "1BAD=y" is not NAME=VALUE`},
		{name: "a /secrets/ value that can name no Secret",
			tool: "name: t\nscript: echo\nenvironment:\n- TOKEN=/secrets/Slack_Token\n",
			want: `tool.yaml:4: environment[0]: /secrets/Slack_Token names no volume, and "Slack-Token" cannot be a Secret's name`},
		{name: "a volume naming a Secret its Runtime does not allow",
			tool: kubectl, runtimes: runtimeYAML("kubectl", "docker.io/kubiya/kubectl:latest", "other"),
			want: `tool.yaml:9: volumes[0].secret: Secret "prod-cluster-config" is not allowed by Runtime kubectl: add it to its spec.secrets`},
		{name: "a /secrets/ value whose Secret the Runtime does not allow",
			tool:     "name: t\nimage: alpine/curl\nscript: echo\nenvironment:\n- SLACK_TOKEN=/secrets/slack_token\n",
			runtimes: runtimeYAML("curl", "alpine/curl:latest"),
			want:     `tool.yaml:5: environment[0]: Secret "slack-token" is not allowed by Runtime curl`},
		{name: "two volumes at one path",
			tool: "name: t\nscript: echo\nvolumes:\n- name: a\n  secret: s\n  mount_path: /x\n- name: b\n  secret: s\n  mount_path: /x\n",
			want: `tool.yaml:7: volumes[1]: two volumes are mounted at /x`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			files := map[string]string{"tool.yaml": tc.tool}
			args := []string{}
			if tc.runtimes != "" {
				files["runtimes.txt"] = tc.runtimes
			}
			dir := writeFiles(t, files)
			if tc.runtimes != "" {
				args = append(args, "--runtimes", filepath.Join(dir, "runtimes.txt"))
			}
			out, code := krtValidate(t, append([]string{dir}, args...)...)
			if code != 1 || !strings.Contains(out, filepath.Join(dir, tc.want)) {
				t.Fatalf("krt validate = %d:\n%s\nwant a line %q", code, out, tc.want)
			}
		})
	}
}
