// Package validate checks parsed workflows and tools before anything is
// applied: the references between steps, the DAG's cycles, the shape of
// each step, the tools' inputs, cron schedules, and that every CEL
// expression compiles. The controller and `krt validate` share it, so a
// folder that passes offline passes in the cluster.
package validate

import (
	"fmt"
	"sort"

	krtv1 "krt.dev/krt/api/v1alpha1"
	"krt.dev/krt/workflows/expr"
	"krt.dev/krt/workflows/parse"
)

// Set validates every document of a folder. Tools are looked up among the
// set's own and then in known (those already in the cluster). It returns
// the errors, each located, sorted by file and line.
func Set(docs []parse.Document, known map[string]*krtv1.ToolSpec, env *expr.Env) []*parse.Error {
	tools := map[string]*krtv1.ToolSpec{}
	for name, t := range known {
		tools[name] = t
	}
	seen := map[string]*parse.Document{}
	var errs []*parse.Error
	for i := range docs {
		d := &docs[i]
		key := d.Object.GetObjectKind().GroupVersionKind().Kind + "/" + d.Object.GetName()
		if first, dup := seen[key]; dup {
			errs = append(errs, at(d, "metadata.name", "%s is also defined at %s:%d", key, first.File, first.Line))
			continue
		}
		seen[key] = d
		if t, ok := d.Object.(*krtv1.Tool); ok {
			tools[t.Name] = &t.Spec
			errs = append(errs, tool(d, &t.Spec)...)
		}
	}
	for i := range docs {
		d := &docs[i]
		if wf, ok := d.Object.(*krtv1.Workflow); ok {
			c := &checker{doc: d, tools: tools, env: env}
			c.workflow(&wf.Spec)
			errs = append(errs, c.errs...)
		}
	}
	sort.SliceStable(errs, func(i, j int) bool {
		if errs[i].File != errs[j].File {
			return errs[i].File < errs[j].File
		}
		return errs[i].Line < errs[j].Line
	})
	return errs
}

// checker collects the errors of one workflow document.
type checker struct {
	doc   *parse.Document
	tools map[string]*krtv1.ToolSpec
	env   *expr.Env
	errs  []*parse.Error
}

func (c *checker) errorf(field, format string, args ...any) {
	c.errs = append(c.errs, at(c.doc, field, format, args...))
}

// errorIn locates an error at a byte offset inside a field's value: a
// script's own line, when the file wrote it as a block.
func (c *checker) errorIn(field, value string, offset int, format string, args ...any) {
	line, userField := c.doc.PosIn(field, value, offset)
	c.errs = append(c.errs, &parse.Error{File: c.doc.File, Line: line, Field: userField, Message: fmt.Sprintf(format, args...)})
}

// at locates an error by a native field path, in the user's own terms.
func at(d *parse.Document, field, format string, args ...any) *parse.Error {
	line, userField := d.Pos(field)
	return &parse.Error{File: d.File, Line: line, Field: userField, Message: fmt.Sprintf(format, args...)}
}

func (c *checker) workflow(spec *krtv1.WorkflowSpec) {
	c.triggers(&spec.On)
	for i, p := range spec.Params {
		if p.Default != nil {
			c.template(fmt.Sprintf("spec.params[%d].default", i), *p.Default)
		}
	}
	if spec.Concurrency != nil {
		c.template("spec.concurrency.group", spec.Concurrency.Group)
	}
	if len(spec.Steps) == 0 {
		c.errorf("spec.steps", "a workflow needs at least one step")
	}
	names := map[string]bool{}
	c.steps("spec.steps", spec.Steps, spec.Params, names)
	c.steps("spec.finally", spec.Finally, spec.Params, names)
	c.sizes(spec)
	c.artifacts(spec)
	c.graph("spec.steps", spec.Steps, names)
	c.graph("spec.finally", spec.Finally, names)
}

func (c *checker) triggers(on *krtv1.Triggers) {
	for i, s := range on.Schedule {
		if _, err := ParseCron(s.Cron); err != nil {
			c.errorf(fmt.Sprintf("spec.on.schedule[%d].cron", i), "%v", err)
		}
	}
	if on.When != "" {
		if err := c.env.CheckBool(on.When); err != nil {
			c.errorf("spec.on.when", "%v", err)
		}
	}
}
