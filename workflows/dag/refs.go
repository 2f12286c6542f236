package dag

import (
	"fmt"
	"slices"

	krtv1 "krt.dev/krt/api/v1alpha1"
	"krt.dev/krt/workflows/expr"
)

// Field is one expression-bearing field of a step, by its path below the
// step ("if", "with.image").
type Field struct {
	Path, Src string
}

// Fields lists the fields of a step that may hold expressions or ${{ }}
// templates, in a stable order.
func Fields(s *krtv1.Step) []Field {
	out := []Field{{"if", s.If}, {"runner", s.Runner}, {"runtime", s.Runtime}, {"cluster", s.Cluster}, {"run", s.Run}}
	for _, k := range sortedKeys(s.Env) {
		out = append(out, Field{"env." + k, s.Env[k]})
	}
	for _, k := range sortedKeys(s.With) {
		out = append(out, Field{"with." + k, s.With[k]})
	}
	if s.Artifacts != nil {
		for i, in := range s.Artifacts.Inputs {
			out = append(out, Field{fmt.Sprintf("artifacts.inputs[%d].from", i), in.From})
		}
	}
	if s.Cache != nil {
		out = append(out, Field{"cache.key", s.Cache.Key})
	}
	if s.ForEach != nil {
		for i, item := range s.ForEach.Items {
			out = append(out, Field{fmt.Sprintf("forEach.items[%d]", i), item})
		}
	}
	return out
}

// Reads lists, sorted, the steps a step's expressions read (outputs,
// phase or status), other than itself.
func Reads(s *krtv1.Step) []string {
	var out []string
	for _, f := range Fields(s) {
		for _, ref := range expr.Refs(f.Src) {
			if ref != s.Name && !slices.Contains(out, ref) {
				out = append(out, ref)
			}
		}
	}
	slices.Sort(out)
	return out
}

// Inferred lists the steps of list that s reads without naming them in
// needs: reading a step's output, phase or status is waiting for it, as a
// result reference orders tasks in Tekton. Steps outside list (a finally
// step read from the main steps) are left to validation.
func Inferred(s *krtv1.Step, list []krtv1.Step) []string {
	var out []string
	for _, ref := range Reads(s) {
		if !slices.Contains(s.Needs, ref) && slices.ContainsFunc(list, func(o krtv1.Step) bool { return o.Name == ref }) {
			out = append(out, ref)
		}
	}
	return out
}

// Needs is every step of list that s waits for: its needs, then the
// steps it reads.
func Needs(s *krtv1.Step, list []krtv1.Step) []string {
	return append(slices.Clone(s.Needs), Inferred(s, list)...)
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
