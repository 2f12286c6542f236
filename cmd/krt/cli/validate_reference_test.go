package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// referenceRunners are the runners the reference workflows name.
const referenceRunners = "staging-cluster-runner,testing-runner,production-cluster-runner,aws-us-east-runner,gcp-us-central-runner,cloudflare-runner"

// The reference documents' workflows, as written, with stand-ins for the
// tools they only name, pass `krt validate`, their runners included.
func TestValidateReferenceWorkflows(t *testing.T) {
	dir := filepath.Join("..", "..", "..", "test", "reference")
	for _, args := range [][]string{{"validate", dir}, {"validate", dir, "--runners", referenceRunners}} {
		out, errOut, code := runMain(t, args...)
		if code != 0 || !strings.Contains(out, "workflows and tools are valid") {
			t.Errorf("krt %s: exit %d\n%s%s", strings.Join(args, " "), code, out, errOut)
		}
	}
}

// Bad input in the seed dialect is refused with file, line and field.
func TestValidateReferenceMistakes(t *testing.T) {
	cases := []struct {
		name, file string
		runners    string
		want       string
	}{{
		name:    "a runner that resolves to nothing",
		file:    "name : failover\nsteps :\n  - name : backup\n    runner : aws-us-east-runner\n    run : echo\n",
		runners: "gcp-us-central-runner",
		want:    "w.yaml:4: steps[0].runner: runner aws-us-east-runner resolves to nothing: it is neither a Cluster nor a Runtime among --runners (gcp-us-central-runner)",
	}, {
		name: "a reference to a step that does not exist",
		file: "name : failover\nsteps :\n  - name : restore\n    run : echo\n  - name : update-dns\n    run : echo\n    env :\n      TARGET : ${restor.new_endpoint}\n",
		want: `w.yaml:8: steps[1].env.TARGET: refers to step "restor", which does not exist`,
	}, {
		name: "a cycle of references",
		file: "workflow :\n  - name : a\n    run : echo ${b.x}\n  - name : b\n    condition : ${a.status} == \"success\"\n    run : echo\n",
		want: "w.yaml:3: workflow[0].run: the steps form a cycle: a -> b -> a",
	}}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			if err := os.WriteFile(filepath.Join(dir, "w.yaml"), []byte(tc.file), 0o600); err != nil {
				t.Fatal(err)
			}
			args := []string{"validate", dir}
			if tc.runners != "" {
				args = append(args, "--runners", tc.runners)
			}
			out, _, code := runMain(t, args...)
			want := filepath.Join(dir, tc.want)
			if code != 1 || !strings.Contains(out, want) {
				t.Errorf("exit %d, output:\n%s\nwant a line %q", code, out, want)
			}
		})
	}
}
