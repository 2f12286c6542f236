package validate

import (
	"fmt"
	"strings"
	"testing"
)

// yamlMatrix writes a matrix of n axes of m values each, in flow style.
func yamlMatrix(n, m int) string {
	vals := make([]string, m)
	for j := range vals {
		vals[j] = fmt.Sprintf("v%d", j)
	}
	axes := make([]string, n)
	for i := range axes {
		axes[i] = fmt.Sprintf("k%d: [%s]", i, strings.Join(vals, ", "))
	}
	return "{" + strings.Join(axes, ", ") + "}"
}

// A workflow whose runs could not hold its nodes is refused where it is
// written, before any run is made of it.
func TestNodeCaps(t *testing.T) {
	items := func(n int) string {
		out := make([]string, n)
		for i := range out {
			out[i] = fmt.Sprintf("i%d", i)
		}
		return "[" + strings.Join(out, ", ") + "]"
	}
	cases := []struct {
		name, spec string
		line       int
		field, msg string
	}{
		{"8×16 matrix", "  steps:\n    - name: a\n      runtime: bash\n      run: x\n      matrix: " + yamlMatrix(8, 16) + "\n", 9, "spec.steps[0].matrix",
			"the matrix (16 × 16 × 16 × 16 × 16 × 16 × 16 × 16 values) expands to 4294967296 nodes, more than the 3999 a run may hold"},
		{"1000×1000 matrix", "  steps:\n    - name: a\n      runtime: bash\n      run: x\n      matrix: " + yamlMatrix(2, 1000) + "\n", 9, "spec.steps[0].matrix",
			"the matrix (1000 × 1000 values) expands to 1000000 nodes"},
		{"a product past 2^64", "  steps:\n    - name: a\n      runtime: bash\n      run: x\n      matrix: " + yamlMatrix(8, 300) + "\n", 9, "spec.steps[0].matrix",
			"expands to more than 18446744073709551615 nodes"},
		{"steps that fit alone but not together", "  steps:\n    - {name: a, runtime: bash, run: x, forEach: {items: " + items(1000) + "}}\n" +
			"    - {name: b, runtime: bash, run: x, matrix: " + yamlMatrix(2, 55) + "}\n" +
			"  finally:\n    - {name: c, runtime: bash, run: x, forEach: {items: " + items(1000) + "}}\n", 5, "spec.steps",
			"the steps expand to up to 5025 nodes in all, more than the 3999 a run may hold"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			errs := check(t, map[string]string{"w.yaml": header + c.spec})
			if len(errs) != 1 {
				t.Fatalf("got %d errors, want 1: %v", len(errs), errs)
			}
			e := errs[0]
			if e.File != "w.yaml" || e.Line != c.line || e.Field != c.field || !strings.Contains(e.Message, c.msg) {
				t.Errorf("got  %s\nwant w.yaml:%d: %s: ...%s...", e, c.line, c.field, c.msg)
			}
		})
	}
	t.Run("the most a run holds", func(t *testing.T) {
		spec := "  steps:\n    - {name: a, runtime: bash, run: x, matrix: " + yamlMatrix(2, 63) + "}\n    - {name: b, runtime: bash, run: x, forEach: {items: " + items(30) + "}}\n"
		if errs := check(t, map[string]string{"w.yaml": header + spec}); len(errs) > 0 {
			t.Errorf("3999 nodes in all: %v", errs)
		}
	})
}
