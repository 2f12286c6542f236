package parse

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	krtv1 "krt.dev/krt/api/v1alpha1"
)

// readExamples returns the example files kept in testdata.
func readExamples(t testing.TB) map[string][]byte {
	t.Helper()
	paths, err := filepath.Glob("testdata/examples/*.yaml")
	if err != nil || len(paths) == 0 {
		t.Fatalf("no examples: %v", err)
	}
	out := map[string][]byte{}
	for _, p := range paths {
		data, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		out[filepath.Base(p)] = data
	}
	return out
}

func TestExamplesParse(t *testing.T) {
	want := map[string][]string{
		"pr-checks.yaml":    {"Workflow/pr-checks"},
		"promote.yaml":      {"Workflow/promote-web"},
		"seed-dialect.yaml": {"Workflow/nightly-report"},
		"tools.yaml":        {"Tool/row-counter", "Tool/threshold-check", "Tool/publish-report"},
	}
	for name, data := range readExamples(t) {
		t.Run(name, func(t *testing.T) {
			docs, errs := File(name, data)
			for _, e := range errs {
				t.Errorf("unexpected error: %v", e)
			}
			var got []string
			for _, d := range docs {
				gvk := d.Object.GetObjectKind().GroupVersionKind()
				if gvk.GroupVersion() != krtv1.GroupVersion {
					t.Errorf("%s: group version %v", d.Object.GetName(), gvk.GroupVersion())
				}
				got = append(got, gvk.Kind+"/"+d.Object.GetName())
			}
			if strings.Join(got, ",") != strings.Join(want[name], ",") {
				t.Errorf("got %v, want %v", got, want[name])
			}
		})
	}
}

const header = "apiVersion: krt.dev/v1alpha1\nkind: Workflow\nmetadata:\n  name: x\n"

func TestErrors(t *testing.T) {
	tests := []struct {
		name     string
		in       string
		line     int
		field    string
		msg      string
		wantDocs int
	}{
		{"yaml syntax", header + "spec:\n  steps: [\n", 6, "", "invalid YAML: did not find expected node content", 0},
		{"yaml syntax on first line", "\tkind: Workflow\n", 1, "", "invalid YAML: found character that cannot start any token", 0},
		{"unknown field at depth", header + "spec:\n  steps:\n    - name: a\n      runn: echo\n", 8, "spec.steps[0].runn", `unknown field "runn" (did you mean "run"?)`, 0},
		{"unknown top field", header + "spek: {}\n", 5, "spek", `unknown field "spek"`, 0},
		{"map where string expected", header + "spec:\n  steps:\n    - name: a\n      run: {echo: hi}\n", 8, "spec.steps[0].run", "expected a string, got a mapping", 0},
		{"string where list expected", header + "spec:\n  steps:\n    - name: a\n      needs: b\n", 8, "spec.steps[0].needs", "expected a list, got a string", 0},
		{"number where string expected", header + "spec:\n  steps:\n    - name: a\n      env:\n        PORT: 8080\n", 9, "spec.steps[0].env.PORT", `expected a string, got a number; quote it: "8080"`, 0},
		{"string where bool expected", header + "spec:\n  concurrency: {group: g, cancelInProgress: yes}\n  steps: [{name: a}]\n", 6, "spec.concurrency.cancelInProgress", "expected true or false, got a string", 0},
		{"bad duration", header + "spec:\n  steps:\n    - name: a\n      timeout: 5x\n", 8, "spec.steps[0].timeout", `invalid duration "5x"`, 0},
		{"negative duration", header + "spec:\n  steps:\n    - name: a\n      timeout: -5m\n", 8, "spec.steps[0].timeout", "must not be negative", 0},
		{"duration unit the CRD refuses", header + "spec:\n  steps:\n    - name: a\n      retries: {limit: 1, backoff: 10us}\n", 8, "spec.steps[0].retries.backoff", "use only the units ms, s, m and h", 0},
		{"int out of range", header + "spec:\n  steps:\n    - name: a\n      retries: {limit: 99999999999}\n", 8, "spec.steps[0].retries.limit", "out of range", 0},
		{"missing required", header + "spec:\n  steps:\n    - run: echo\n", 7, "spec.steps[0]", `missing required field "name"`, 0},
		{"duplicate field", header + "spec:\n  steps: []\n  steps: []\n", 7, "spec.steps", `duplicate field "steps"`, 0},
		{"merge key", header + "spec:\n  <<: {steps: []}\n  steps: []\n", 6, "spec", "merge keys (<<) are not supported", 0},
		{"unknown kind", "apiVersion: krt.dev/v1alpha1\nkind: Pipeline\n", 2, "kind", `unsupported kind "Pipeline"; want Workflow or Tool`, 0},
		{"wrong apiVersion", "apiVersion: krt.dev/v1\nkind: Workflow\n", 1, "apiVersion", `unsupported apiVersion "krt.dev/v1"; want krt.dev/v1alpha1`, 0},
		{"missing apiVersion", "\nkind: Workflow\n", 2, "apiVersion", "missing apiVersion", 0},
		{"missing name", "apiVersion: krt.dev/v1alpha1\nkind: Tool\nmetadata:\n  labels: {a: b}\n", 3, "metadata.name", "missing name", 0},
		{"bad name", "apiVersion: krt.dev/v1alpha1\nkind: Tool\nmetadata:\n  name: Bad_Name\n", 4, "metadata.name", `invalid name "Bad_Name"`, 0},
		{"generateName refused", "apiVersion: krt.dev/v1alpha1\nkind: Tool\nmetadata:\n  generateName: t-\n", 4, "metadata.generateName", "metadata may hold only name, namespace, labels and annotations", 0},
		{"status refused", header + "spec: {steps: [{name: a}]}\nstatus: {}\n", 6, "status", "status is written by krt", 0},
		{"not a mapping", "- a\n- b\n", 1, "", "expected a mapping", 0},
		{"neither dialect", "name: x\n", 1, "", "unrecognised document", 0},
		{"seed unknown field", "name: s\nsteps:\n  - name: a\n    runnr: bash\n", 4, "steps[0].runnr", `unknown field "runnr" (did you mean "runner"?)`, 0},
		{"seed bad runner", "name: s\nsteps:\n  - name: a\n    runner: a/b/c\n", 4, "steps[0].runner", `runner must be "<runtime>" or "<cluster>/<runtime>"`, 0},
		{"seed two scripts", "name: s\nsteps:\n  - name: a\n    script: x\n    command: y\n", 5, "steps[0].command", "only one of script, run and command", 0},
		{"seed bad name", "name: Bad_Name\nsteps: []\n", 1, "name", "invalid name", 0},
		{"seed two lists", "steps: []\nworkflow: []\n", 2, "workflow", "only one of steps, workflow and parallel_tools", 0},
		{"seed env and environment", "steps:\n  - name: a\n    env: {A: x}\n    environment: {B: y}\n", 4, "steps[0].environment", "only one of env and environment", 0},
		{"seed param twice", "name: s\nparams: {A: x}\nenv: {A: y}\nsteps: []\n", 3, "env.A", "both params and env", 0},
		{"seed retries type", "name: s\nsteps:\n  - name: a\n    retries: many\n", 4, "steps[0].retries", "expected a whole number, got a string", 0},
		{"good document kept", header + "spec: {steps: [], stepz: []}\n---\napiVersion: krt.dev/v1alpha1\nkind: Tool\nmetadata: {name: t}\n", 5, "spec.stepz", `unknown field "stepz"`, 1},
		{"documents before a syntax error kept", "apiVersion: krt.dev/v1alpha1\nkind: Tool\nmetadata: {name: t}\n---\nkind: [\n", 5, "", "invalid YAML", 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			docs, errs := File("wf/a.yaml", []byte(tc.in))
			if len(docs) != tc.wantDocs {
				t.Errorf("got %d documents, want %d", len(docs), tc.wantDocs)
			}
			if len(errs) != 1 {
				t.Fatalf("got %d errors, want 1: %v", len(errs), errs)
			}
			e := errs[0]
			if e.File != "wf/a.yaml" || e.Line != tc.line || e.Field != tc.field || !strings.Contains(e.Message, tc.msg) {
				t.Errorf("got %q\nwant wf/a.yaml:%d: %s: ...%s...", e.Error(), tc.line, tc.field, tc.msg)
			}
		})
	}
}

func TestErrorString(t *testing.T) {
	tests := []struct {
		e    Error
		want string
	}{
		{Error{File: "a.yaml", Line: 12, Field: "spec.steps[0].runn", Message: `unknown field "runn"`}, `a.yaml:12: spec.steps[0].runn: unknown field "runn"`},
		{Error{File: "a.yaml", Message: "invalid YAML: x"}, "a.yaml: invalid YAML: x"},
		{Error{File: "a.yaml", Line: 3, Message: "m"}, "a.yaml:3: m"},
		{Error{Field: "f", Message: "m"}, "f: m"},
	}
	for _, tc := range tests {
		if got := tc.e.Error(); got != tc.want {
			t.Errorf("got %q, want %q", got, tc.want)
		}
	}
}

func TestEmptyDocumentsSkipped(t *testing.T) {
	in := "# only a comment\n---\n---\n~\n---\napiVersion: krt.dev/v1alpha1\nkind: Tool\nmetadata: {name: t}\n---\n"
	docs, errs := File("a.yaml", []byte(in))
	if len(errs) != 0 || len(docs) != 1 || docs[0].Line != 6 {
		t.Fatalf("docs=%d errs=%v", len(docs), errs)
	}
}

func TestManualNullMeansEnabled(t *testing.T) {
	docs, errs := File("a.yaml", []byte(header+"spec:\n  on:\n    manual:\n  steps: [{name: a}]\n"))
	if len(errs) != 0 {
		t.Fatal(errs)
	}
	if docs[0].Object.(*krtv1.Workflow).Spec.On.Manual == nil {
		t.Error("manual: with no value should enable manual runs")
	}
}

func TestAliasBomb(t *testing.T) {
	// One step names a 100-item list eight times and is itself named a
	// thousand times: a small file that expands to some 800,000 nodes.
	list := "[" + strings.Repeat("a, ", 99) + "a]"
	in := header + "spec:\n  steps:\n    - &s\n      name: a\n      matrix:\n        k0: &l " + list + "\n"
	for i := 1; i < 8; i++ {
		in += "        k" + string(rune('0'+i)) + ": *l\n"
	}
	in += strings.Repeat("    - *s\n", 1000)
	_, errs := File("a.yaml", []byte(in))
	if len(errs) != 1 || !strings.Contains(errs[0].Message, "document too large") {
		t.Fatalf("got %v, want one 'document too large' error", errs)
	}
}
