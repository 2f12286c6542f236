package validate

import (
	"fmt"
	"sort"
	"strings"

	krtv1 "krt.dev/krt/api/v1alpha1"
	"krt.dev/krt/workflows/expr"
)

// steps checks each step's own shape; names collects every step name of
// the workflow, for the graph checks that follow.
func (c *checker) steps(list string, steps []krtv1.Step, params []krtv1.Param, names map[string]bool) {
	for i := range steps {
		s := &steps[i]
		path := fmt.Sprintf("%s[%d]", list, i)
		if names[s.Name] {
			c.errorf(path+".name", "step name %q is used twice", s.Name)
		}
		names[s.Name] = true
		c.shape(path, s)
		c.expressions(path, s)
		c.script(path, s)
		c.placement(path, s, params)
		if s.Uses != "" {
			c.uses(path, s)
		}
	}
}

// shape checks that a step is exactly one kind of step, with what that
// kind needs.
func (c *checker) shape(path string, s *krtv1.Step) {
	kinds := 0
	for _, set := range []bool{s.Run != "", s.Uses != "", s.Approval != nil} {
		if set {
			kinds++
		}
	}
	switch {
	case kinds == 0:
		c.errorf(path, "step %q needs one of run, uses or approval", s.Name)
	case kinds > 1:
		c.errorf(path, "step %q has more than one of run, uses and approval; pick one", s.Name)
	case s.Runner != "" && (s.Runtime != "" || s.Cluster != ""):
		c.errorf(path+".runner", "step %q names a runner and a runtime or cluster; a runner says both, pick one", s.Name)
	case s.Approval != nil && (s.ForEach != nil || len(s.Matrix) > 0):
		c.errorf(path+".approval", "an approval step cannot expand with forEach or matrix")
	}
	if s.ForEach != nil && len(s.Matrix) > 0 {
		c.errorf(path+".matrix", "step %q has both forEach and matrix; pick one", s.Name)
	}
	for k, vals := range s.Matrix {
		if len(vals) == 0 {
			c.errorf(path+".matrix."+k, "matrix axis %q has no values", k)
		}
	}
}

// expressions checks every CEL expression and ${{ }} template of a step.
func (c *checker) expressions(path string, s *krtv1.Step) {
	if s.If != "" {
		if err := c.env.CheckBool(s.If); err != nil {
			c.errorf(path+".if", "%v", err)
		}
	}
	c.template(path+".runner", s.Runner)
	c.template(path+".runtime", s.Runtime)
	c.template(path+".cluster", s.Cluster)
	c.template(path+".run", s.Run)
	for _, k := range sortedKeys(s.Env) {
		c.template(path+".env."+k, s.Env[k])
	}
	for _, k := range sortedKeys(s.With) {
		c.template(path+".with."+k, s.With[k])
	}
	if s.ForEach != nil {
		for i, item := range s.ForEach.Items {
			c.template(fmt.Sprintf("%s.forEach.items[%d]", path, i), item)
		}
	}
}

func (c *checker) template(field, s string) {
	if !expr.HasTemplate(s) {
		return
	}
	if err := c.env.CheckTemplate(s); err != nil {
		c.errorf(field, "%v", err)
	}
}

// uses checks a tool step against its Tool: it exists, every input given
// is declared, and every required input without a default is given.
func (c *checker) uses(path string, s *krtv1.Step) {
	tool, ok := c.tools[s.Uses]
	if !ok {
		c.errorf(path+".uses", "tool %q is not defined in this folder or the namespace", s.Uses)
		return
	}
	declared := map[string]bool{}
	for _, in := range tool.Inputs {
		declared[in.Name] = true
		if _, given := s.With[in.Name]; in.Required && in.Default == nil && !given {
			c.errorf(path+".with", "tool %q requires input %q", s.Uses, in.Name)
		}
	}
	for _, k := range sortedKeys(s.With) {
		if !declared[k] {
			c.errorf(path+".with."+k, "tool %q has no input %q (it has: %s)", s.Uses, k, inputNames(tool))
		}
	}
}

func inputNames(t *krtv1.ToolSpec) string {
	names := make([]string, 0, len(t.Inputs))
	for _, in := range t.Inputs {
		names = append(names, in.Name)
	}
	if len(names) == 0 {
		return "none"
	}
	return strings.Join(names, ", ")
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
