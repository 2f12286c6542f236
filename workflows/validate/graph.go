package validate

import (
	"fmt"
	"slices"
	"strings"

	krtv1 "krt.dev/krt/api/v1alpha1"
	"krt.dev/krt/workflows/dag"
	"krt.dev/krt/workflows/expr"
)

// graph checks the edges of one list of steps: every need exists in the
// list, an expression reads only steps that exist and that run before it,
// and the needs, written or inferred from what steps read, form no cycle.
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
	for i := range steps {
		c.reads(fmt.Sprintf("%s[%d]", list, i), &steps[i], index, all, list == "spec.finally")
	}
	if cycle := findCycle(steps, index); cycle != nil {
		i := index[cycle[0]]
		c.errorf(edgeField(list, i, &steps[i], cycle[1]), "the steps form a cycle: %s", strings.Join(cycle, " -> "))
	}
}

func where(list string) string {
	if list == "spec.finally" {
		return " of finally"
	}
	return ""
}

// reads checks the steps an expression of s refers to. A step of the same
// list is waited for (dag.Inferred); a finally step runs after every other
// step, so no other step can wait for it.
func (c *checker) reads(path string, s *krtv1.Step, index map[string]int, all map[string]bool, finally bool) {
	for _, field := range stepExpressions(s) {
		for _, ref := range expr.Refs(field.src) {
			_, inList := index[ref]
			switch {
			case !all[ref]:
				c.errorf(path+field.path, "refers to step %q, which does not exist", ref)
			case ref == s.Name:
				c.errorf(path+field.path, "step %q cannot read its own outputs", s.Name)
			case !finally && !inList:
				c.errorf(path+field.path, "reads finally step %q, which runs only after every step", ref)
			}
		}
	}
}

// edgeField is where step i waits for next: its needs when it names next
// there, else the first field that reads next.
func edgeField(list string, i int, s *krtv1.Step, next string) string {
	path := fmt.Sprintf("%s[%d]", list, i)
	if slices.Contains(s.Needs, next) {
		return path + ".needs"
	}
	for _, f := range stepExpressions(s) {
		if slices.Contains(expr.Refs(f.src), next) {
			return path + f.path
		}
	}
	return path + ".needs"
}

type located struct{ path, src string }

// stepExpressions lists the expressions and templates of a step with the
// field each came from.
func stepExpressions(s *krtv1.Step) []located {
	var out []located
	for _, f := range dag.Fields(s) {
		out = append(out, located{"." + f.Path, f.Src})
	}
	return out
}

// findCycle returns one cycle of needs, written or inferred, as a path of
// names, or nil.
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
		for _, n := range dag.Needs(&steps[i], steps) {
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
