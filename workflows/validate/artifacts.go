package validate

import (
	"fmt"
	"path"
	"regexp"
	"strings"

	krtv1 "krt.dev/krt/api/v1alpha1"
	"krt.dev/krt/workflows/expr"
)

// artifactFrom is the bare steps.STEP.artifacts.NAME of an input.
var artifactFrom = regexp.MustCompile(`^\s*(?:\$\{\{\s*)?steps\.([A-Za-z0-9_-]+)\.artifacts\.([A-Za-z0-9_-]+)\s*(?:\}\})?\s*$`)

// artifacts checks the files a workflow's steps hand on and take in: the
// paths stay in the working directory, and every input names an artifact
// that some step declares. Runtime checks stay (runtimed and the Runtime
// Server refuse the same); this is to say so at push time, with a line.
func (c *checker) artifacts(spec *krtv1.WorkflowSpec) {
	declared := map[string]map[string]bool{}
	for _, s := range append(append([]krtv1.Step{}, spec.Steps...), spec.Finally...) {
		if s.Artifacts != nil {
			declared[s.Name] = map[string]bool{}
			for _, o := range s.Artifacts.Outputs {
				declared[s.Name][o.Name] = true
			}
		}
	}
	for i := range spec.Steps {
		c.stepData(fmt.Sprintf("spec.steps[%d]", i), &spec.Steps[i], declared)
	}
	for i := range spec.Finally {
		c.stepData(fmt.Sprintf("spec.finally[%d]", i), &spec.Finally[i], declared)
	}
}

func (c *checker) stepData(at string, s *krtv1.Step, declared map[string]map[string]bool) {
	if s.Cache != nil {
		c.template(at+".cache.key", s.Cache.Key)
		for j, p := range s.Cache.Paths {
			c.workPath(fmt.Sprintf("%s.cache.paths[%d]", at, j), p)
		}
	}
	if (s.Artifacts != nil || s.Cache != nil || s.Memoize) && s.Approval != nil {
		c.errorf(at, "an approval step has no files: artifacts, cache and memoize apply to run and uses steps")
	}
	if s.Artifacts == nil {
		return
	}
	names := map[string]bool{}
	for j, o := range s.Artifacts.Outputs {
		field := fmt.Sprintf("%s.artifacts.outputs[%d]", at, j)
		if names[o.Name] {
			c.errorf(field+".name", "artifact %q is declared twice", o.Name)
		}
		names[o.Name] = true
		c.workPath(field+".path", o.Path)
	}
	inputs := map[string]bool{}
	for j, in := range s.Artifacts.Inputs {
		field := fmt.Sprintf("%s.artifacts.inputs[%d]", at, j)
		if in.Path != "" {
			c.workPath(field+".path", in.Path)
		}
		m := artifactFrom.FindStringSubmatch(in.From)
		if m == nil {
			if !expr.HasTemplate(in.From) {
				c.errorf(field+".from", "%q is not steps.STEP.artifacts.NAME", in.From)
			} else {
				c.template(field+".from", in.From)
			}
			continue
		}
		name := in.Name
		if name == "" {
			name = m[2]
		}
		if inputs[name] {
			c.errorf(field+".name", "input %q is declared twice; name one of them", name)
		}
		inputs[name] = true
		switch outs, ok := declared[m[1]]; {
		case m[1] == s.Name:
			c.errorf(field+".from", "step %q cannot take its own artifact", s.Name)
		case !ok:
			c.errorf(field+".from", "step %q declares no artifacts", m[1])
		case !outs[m[2]]:
			c.errorf(field+".from", "step %q declares no artifact %q", m[1], m[2])
		}
	}
}

// workPath refuses a path that would leave the working directory.
func (c *checker) workPath(field, p string) {
	clean := path.Clean(p)
	switch {
	case p == "":
		c.errorf(field, "the path is empty")
	case strings.HasPrefix(p, "/"):
		c.errorf(field, "%q is absolute; paths are relative to the working directory", p)
	case clean == ".." || strings.HasPrefix(clean, "../"):
		c.errorf(field, "%q leaves the working directory", p)
	}
}
