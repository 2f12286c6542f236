package validate

import (
	"fmt"
	"strings"

	krtv1 "krt.dev/krt/api/v1alpha1"
	"krt.dev/krt/workflows/expr"
)

// graph checks the edges of one list of steps: every need exists in the
// list, there is no cycle, and an expression reads only steps that exist
// and, outside finally, that the step waits for.
func (c *checker) graph(list string, steps []krtv1.Step, all map[string]bool) {
	index := map[string]int{}
	for i, s := range steps {
		index[s.Name] = i
	}
	for i, s := range steps {
		for j, n := range s.Needs {
			if _, ok := index[n]; !ok {
				c.errorf(fmt.Sprintf("%s[%d].needs[%d]", list, i, j), "step %q needs %q, which is not a step%s", s.Name, n, where(list))
			}
		}
	}
	if cycle := findCycle(steps, index); cycle != nil {
		i := index[cycle[0]]
		c.errorf(fmt.Sprintf("%s[%d].needs", list, i), "the steps form a cycle: %s", strings.Join(cycle, " -> "))
		return // ancestry is meaningless in a cycle
	}
	finally := list == "spec.finally"
	for i := range steps {
		c.reads(fmt.Sprintf("%s[%d]", list, i), &steps[i], steps, index, all, finally)
	}
}

func where(list string) string {
	if list == "spec.finally" {
		return " of finally"
	}
	return ""
}

// reads checks the steps an expression of s refers to.
func (c *checker) reads(path string, s *krtv1.Step, steps []krtv1.Step, index map[string]int, all map[string]bool, finally bool) {
	ancestors := map[string]bool{}
	collectAncestors(s, steps, index, ancestors)
	for _, field := range stepExpressions(s) {
		for _, ref := range expr.Refs(field.src) {
			switch {
			case !all[ref]:
				c.errorf(path+field.path, "refers to step %q, which does not exist", ref)
			case ref == s.Name:
				c.errorf(path+field.path, "step %q cannot read its own outputs", s.Name)
			case !finally && !ancestors[ref]:
				c.errorf(path+field.path, "reads step %q but does not wait for it; add it to needs", ref)
			}
		}
	}
}

func collectAncestors(s *krtv1.Step, steps []krtv1.Step, index map[string]int, out map[string]bool) {
	for _, n := range s.Needs {
		i, ok := index[n]
		if !ok || out[n] {
			continue
		}
		out[n] = true
		collectAncestors(&steps[i], steps, index, out)
	}
}

type located struct{ path, src string }

// stepExpressions lists the expressions and templates of a step with the
// field each came from.
func stepExpressions(s *krtv1.Step) []located {
	out := []located{{".if", s.If}, {".runtime", s.Runtime}, {".cluster", s.Cluster}, {".run", s.Run}}
	for _, k := range sortedKeys(s.Env) {
		out = append(out, located{".env." + k, s.Env[k]})
	}
	for _, k := range sortedKeys(s.With) {
		out = append(out, located{".with." + k, s.With[k]})
	}
	if s.ForEach != nil {
		for i, item := range s.ForEach.Items {
			out = append(out, located{fmt.Sprintf(".forEach.items[%d]", i), item})
		}
	}
	return out
}

// findCycle returns one cycle of needs as a path of names, or nil.
func findCycle(steps []krtv1.Step, index map[string]int) []string {
	const (
		unvisited = iota
		onPath
		done
	)
	state := make([]int, len(steps))
	var path []string
	var visit func(i int) []string
	visit = func(i int) []string {
		state[i] = onPath
		path = append(path, steps[i].Name)
		for _, n := range steps[i].Needs {
			j, ok := index[n]
			if !ok {
				continue
			}
			switch state[j] {
			case onPath:
				start := 0
				for k, name := range path {
					if name == n {
						start = k
					}
				}
				return append(append([]string{}, path[start:]...), n)
			case unvisited:
				if cyc := visit(j); cyc != nil {
					return cyc
				}
			}
		}
		path = path[:len(path)-1]
		state[i] = done
		return nil
	}
	for i := range steps {
		if state[i] == unvisited {
			if cyc := visit(i); cyc != nil {
				return cyc
			}
		}
	}
	return nil
}
