package validate

import (
	"strings"
	"testing"
)

// Bad artifact and cache declarations are refused at push time, with the
// file, line and field of the mistake.
func TestArtifactDeclarations(t *testing.T) {
	build := "  steps:\n    - name: build\n      run: x\n      artifacts:\n        outputs: [{name: dist, path: out}]\n"
	cases := []struct {
		name, spec string
		line       int
		field, msg string
	}{
		{"missing artifact", build + "    - name: deploy\n      run: x\n      artifacts:\n        inputs: [{from: steps.build.artifacts.bin}]\n",
			13, "spec.steps[1].artifacts.inputs[0].from", `step "build" declares no artifact "bin"`},
		{"step without artifacts", "  steps:\n    - {name: a, run: x}\n    - name: b\n      run: x\n      artifacts:\n        inputs: [{from: steps.a.artifacts.x}]\n",
			10, "spec.steps[1].artifacts.inputs[0].from", `step "a" declares no artifacts`},
		{"not an artifact reference", build + "    - name: deploy\n      run: x\n      artifacts:\n        inputs: [{from: build/dist}]\n",
			13, "spec.steps[1].artifacts.inputs[0].from", "is not steps.STEP.artifacts.NAME"},
		{"output escapes", "  steps:\n    - name: a\n      run: x\n      artifacts:\n        outputs: [{name: etc, path: ../../etc}]\n",
			9, "spec.steps[0].artifacts.outputs[0].path", "leaves the working directory"},
		{"absolute input path", build + "    - name: deploy\n      run: x\n      artifacts:\n        inputs: [{from: steps.build.artifacts.dist, path: /usr/bin}]\n",
			13, "spec.steps[1].artifacts.inputs[0].path", "is absolute"},
		{"cache path escapes", "  steps:\n    - name: a\n      run: x\n      cache: {key: k, paths: [a/../../b]}\n",
			8, "spec.steps[0].cache.paths[0]", "leaves the working directory"},
		{"duplicate output", "  steps:\n    - name: a\n      run: x\n      artifacts:\n        outputs: [{name: d, path: a}, {name: d, path: b}]\n",
			9, "spec.steps[0].artifacts.outputs[1].name", "declared twice"},
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
}

func TestArtifactsAndCacheAccepted(t *testing.T) {
	spec := "  steps:\n    - name: build\n      run: x\n      memoize: true\n      cache: {key: \"deps-${{ event.revision }}\", paths: [.cache]}\n      artifacts:\n        outputs: [{name: dist, path: out}]\n" +
		"    - name: deploy\n      run: x\n      artifacts:\n        inputs: [{from: \"${{ steps.build.artifacts.dist }}\", path: in}]\n"
	if errs := check(t, map[string]string{"w.yaml": header + spec}); len(errs) > 0 {
		t.Fatalf("a good workflow was refused: %v", errs)
	}
}
