package parse

import (
	"strings"
	"testing"
)

// FuzzFile checks that no input makes File panic, and that whatever it
// returns is usable: errors are located, documents have an object and
// answer Pos for any path.
func FuzzFile(f *testing.F) {
	for _, data := range readExamples(f) {
		f.Add(data)
	}
	f.Add([]byte(header + "spec:\n  steps:\n    - name: a\n      timeout: 5x\n"))
	f.Add([]byte("name: s\nsteps:\n  - name: a\n    depends_on: b\n    condition: ${b.status} == \"x\"\n"))
	f.Add([]byte("a: &a [*a]\n---\nkind: [\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		docs, errs := File("fuzz.yaml", data)
		for _, e := range errs {
			if e == nil || e.File != "fuzz.yaml" || e.Line < 0 || e.Message == "" {
				t.Fatalf("bad error %#v", e)
			}
			if !strings.HasPrefix(e.Error(), "fuzz.yaml") {
				t.Fatalf("error string %q", e.Error())
			}
		}
		for _, d := range docs {
			if d.Object == nil || d.File != "fuzz.yaml" || d.Line < 1 {
				t.Fatalf("bad document %#v", d)
			}
			for _, p := range []string{"", "metadata.name", "spec.steps[0].needs[0]", "spec.x[", "]."} {
				if line, _ := d.Pos(p); line < 1 {
					t.Fatalf("Pos(%q) = %d", p, line)
				}
			}
		}
	})
}
