package parse

import (
	"maps"
	"path"
	"slices"
	"strings"

	"gopkg.in/yaml.v3"
	"k8s.io/apimachinery/pkg/util/validation"

	krtv1 "krt.dev/krt/api/v1alpha1"
	"krt.dev/krt/workflows/expr"
)

// seedListKeys are the keys under which the documents write a workflow's
// steps: steps:, a top-level workflow: list (a tool chain), and
// parallel_tools: (steps that run at once, which in a DAG they do anyway
// when none reads another).
var seedListKeys = []string{"steps", "workflow", "parallel_tools"}

// seedList is the one list of steps a seed document gives, and its key.
type seedList struct {
	key   string
	steps []seedStep
}

// isSeedWorkflow says whether a mapping without apiVersion/kind is a seed
// workflow: it has one of the step lists.
func isSeedWorkflow(n *yaml.Node) bool {
	return slices.ContainsFunc(seedListKeys, func(k string) bool { return hasKey(n, k) })
}

// list picks the document's list of steps; giving two is ambiguous.
func (c *seedConv) list(s *seedWorkflow, line int) seedList {
	lists := map[string][]seedStep{"steps": s.Steps, "workflow": s.Workflow, "parallel_tools": s.ParallelTools}
	var got []string
	for _, k := range seedListKeys {
		if _, written := c.seen[k]; written {
			got = append(got, k)
		}
	}
	switch len(got) {
	case 0:
		c.errs = append(c.errs, &Error{File: c.file, Line: line, Message: "missing steps: write them under steps, workflow or parallel_tools"})
		return seedList{key: "steps"}
	case 1:
	default:
		c.fail(got[1], "only one of steps, workflow and parallel_tools may be given (also got "+got[0]+")")
	}
	return seedList{key: got[0], steps: lists[got[0]]}
}

// env is a step's env, given as env or as environment, not both.
func (c *seedConv) env(at string, st *seedStep) map[string]string {
	_, env := c.seen[at+"env"]
	_, environment := c.seen[at+"environment"]
	if env && environment {
		c.fail(at+"environment", "only one of env and environment may be given")
	}
	if environment {
		return st.Environment
	}
	return st.Env
}

// nameFromFile is the name a workflow without one takes: its file's name
// without the extension, as the tool chain of the documents has no name.
func nameFromFile(file string) string {
	base := path.Base(strings.ReplaceAll(file, "\\", "/"))
	for _, ext := range []string{".yaml", ".yml", ".json"} {
		if strings.HasSuffix(base, ext) {
			return strings.TrimSuffix(base, ext)
		}
	}
	return base
}

// checkName says why a name is not a valid object name, or "".
func checkName(name string) string {
	return strings.Join(validation.IsDNS1123Subdomain(name), "; ")
}

// undeclaredParams are the params the steps read (a seed ${VAR} that
// names no step) but the document does not declare. They have no
// default, so a run must give them: `krt wf trigger -p VAR=...`.
func undeclaredParams(declared []krtv1.Param, steps []krtv1.Step) []krtv1.Param {
	var out []krtv1.Param
	have := func(name string) bool {
		return slices.ContainsFunc(declared, func(p krtv1.Param) bool { return p.Name == name }) ||
			slices.ContainsFunc(out, func(p krtv1.Param) bool { return p.Name == name })
	}
	for i := range steps {
		s := &steps[i]
		srcs := []string{s.If}
		for _, k := range slices.Sorted(maps.Keys(s.With)) {
			srcs = append(srcs, s.With[k])
		}
		for _, k := range slices.Sorted(maps.Keys(s.Env)) {
			srcs = append(srcs, s.Env[k])
		}
		for _, src := range srcs {
			for _, name := range expr.ParamRefs(src) {
				if !have(name) {
					out = append(out, krtv1.Param{Name: name, Description: "read by the workflow as ${" + name + "}"})
				}
			}
		}
	}
	return out
}
