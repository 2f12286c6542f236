package cli

import (
	"encoding/json"
	"runtime/debug"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"
)

func TestVersionOf(t *testing.T) {
	vcs := func(rev, modified string) *debug.BuildInfo {
		return &debug.BuildInfo{Main: debug.Module{Version: "(devel)"}, Settings: []debug.BuildSetting{
			{Key: "vcs.revision", Value: rev}, {Key: "vcs.modified", Value: modified}}}
	}
	cases := []struct {
		name   string
		linked string
		info   *debug.BuildInfo
		want   string
	}{
		{"set at link time wins", "v1.2.3", vcs("0123456789abcdef", "false"), "v1.2.3"},
		{"go install's module version", "", &debug.BuildInfo{Main: debug.Module{Version: "v0.4.0"}}, "v0.4.0"},
		{"the commit built", "", vcs("0123456789abcdef", "false"), "0123456789ab"},
		{"a dirty tree", "", vcs("0123456789abcdef", "true"), "0123456789ab-dirty"},
		{"-buildvcs=false", "", &debug.BuildInfo{Main: debug.Module{Version: "(devel)"}}, "devel"},
		{"no build info", "", nil, "devel"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := versionOf(tc.linked, tc.info); got != tc.want {
				t.Errorf("versionOf = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestVersionCommand(t *testing.T) {
	old := Version
	Version = "v9.9.9"
	t.Cleanup(func() { Version = old })

	out, stderr, code := runMain(t, "version", "--client")
	if code != 0 || out != "Client Version: v9.9.9\n" {
		t.Errorf("version --client: exit %d, %q, %q", code, out, stderr)
	}
	for _, format := range []string{outJSON, outYAML} {
		out, stderr, code = runMain(t, "version", "--client", "-o", format)
		var v versionInfo
		if err := yaml.Unmarshal([]byte(out), &v); err != nil || code != 0 || v.Client.Version != "v9.9.9" ||
			!strings.HasPrefix(v.Client.GoVersion, "go") || v.Server != nil {
			t.Errorf("version --client -o %s: exit %d, %v, %+v, %q", format, code, err, v, stderr)
		}
	}
	if out, _, _ := runMain(t, "version", "--client", "-o", "json"); !json.Valid([]byte(out)) {
		t.Errorf("-o json is not JSON: %q", out)
	}
	// No server (KUBECONFIG names no file): krt's own version still comes,
	// then an error that says how to do without the server.
	out, stderr, code = runMain(t, "version", "--server", "https://127.0.0.1:1")
	if code != 1 || out != "Client Version: v9.9.9\n" || !strings.Contains(stderr, "--client skips it") {
		t.Errorf("version without a server: exit %d, %q, %q", code, out, stderr)
	}
}
