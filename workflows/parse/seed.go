package parse

import (
	"fmt"
	"reflect"
	"sort"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	krtv1 "krt.dev/krt/api/v1alpha1"
)

// AnnotationDescription holds a seed workflow's description, which the
// native Workflow has no field for.
const AnnotationDescription = "krt.dev/description"

// seedWorkflow is the seed dialect's top level. The json tags are the
// user's field names, so the walker's errors and positions are in the
// user's terms.
type seedWorkflow struct {
	// Name defaults to the file's name.
	Name        string `json:"name,omitempty"`
	Description string `json:"description,omitempty"`
	// Params and Env are both VAR -> default; a null value means no
	// default.
	Params map[string]*string `json:"params,omitempty"`
	Env    map[string]*string `json:"env,omitempty"`
	// Steps, Workflow and ParallelTools are the three ways the documents
	// write the steps; exactly one is given (see seedLists).
	Steps         []seedStep `json:"steps,omitempty"`
	Workflow      []seedStep `json:"workflow,omitempty"`
	ParallelTools []seedStep `json:"parallel_tools,omitempty"`
}

// seedStep is one step of the seed dialect.
type seedStep struct {
	Name      string            `json:"name"`
	Runner    string            `json:"runner,omitempty"`
	Tool      string            `json:"tool,omitempty"`
	Inputs    map[string]string `json:"inputs,omitempty"`
	DependsOn stringList        `json:"depends_on,omitempty"`
	Condition string            `json:"condition,omitempty"`
	Outputs   []string          `json:"outputs,omitempty"`
	Script    string            `json:"script,omitempty"`
	Run       string            `json:"run,omitempty"`
	Command   string            `json:"command,omitempty"`
	Env       map[string]string `json:"env,omitempty"`
	// Environment is env as the tool documents spell it.
	Environment map[string]string `json:"environment,omitempty"`
	Timeout     *metav1.Duration  `json:"timeout,omitempty"`
	Retries     *int32            `json:"retries,omitempty"`
}

// seedConv converts a checked seed document, collecting errors located
// through the walker's positions.
type seedConv struct {
	file string
	seen map[string]position
	errs []*Error
}

func (c *seedConv) fail(path, msg string) {
	c.errs = append(c.errs, &Error{File: c.file, Line: c.seen[path].line, Field: path, Message: msg})
}

// seed decodes a seed-dialect document into a native Workflow.
func seed(file string, n *yaml.Node) (Document, []*Error) {
	w := newWalker(file)
	w.record("", n.Line)
	v := w.walk(n, reflect.TypeOf(seedWorkflow{}), "")
	if len(w.errs) > 0 {
		return Document{}, w.errs
	}
	var s seedWorkflow
	if err := fromValue(v, &s); err != nil {
		return Document{}, []*Error{{File: file, Line: n.Line, Message: err.Error()}}
	}
	c := &seedConv{file: file, seen: w.seen}
	list := c.list(&s, n.Line)
	wf, params := c.workflow(&s, list)
	if len(c.errs) > 0 {
		return Document{}, c.errs
	}
	if wf.Name == "" {
		if wf.Name = nameFromFile(file); checkName(wf.Name) != "" {
			return Document{}, []*Error{{File: file, Line: n.Line, Field: "name", Message: fmt.Sprintf(
				"the workflow has no name, and its file's name %q is not a valid one (%s); add name:", wf.Name, checkName(wf.Name))}}
		}
	}
	doc := Document{File: file, Line: n.Line, Dialect: DialectSeed, Object: wf, pos: seedPositions(w.seen, params, list.key)}
	if errs := checkNames(&doc, "name"); len(errs) > 0 {
		return Document{}, errs
	}
	return doc, nil
}

// workflow builds the native Workflow. Seed workflows have no triggers of
// their own, so they can only be started by hand. It also returns the
// user path of each param, in spec.params order.
func (c *seedConv) workflow(s *seedWorkflow, list seedList) (*krtv1.Workflow, []string) {
	wf := &krtv1.Workflow{
		TypeMeta:   metav1.TypeMeta{APIVersion: krtv1.GroupVersion.String(), Kind: "Workflow"},
		ObjectMeta: metav1.ObjectMeta{Name: s.Name},
	}
	if s.Description != "" {
		wf.Annotations = map[string]string{AnnotationDescription: s.Description}
	}
	wf.Spec.On.Manual = &krtv1.ManualTrigger{}
	var paths []string
	wf.Spec.Params, paths = c.params(s)
	for i := range list.steps {
		wf.Spec.Steps = append(wf.Spec.Steps, c.step(list.key, i, &list.steps[i]))
	}
	wf.Spec.Params = append(wf.Spec.Params, undeclaredParams(wf.Spec.Params, wf.Spec.Steps)...)
	return wf, paths
}

// params merges params and env (two spellings of the same thing) in the
// order they were written, so spec.params reads like the file.
func (c *seedConv) params(s *seedWorkflow) ([]krtv1.Param, []string) {
	var paths []string
	values := map[string]*string{}
	for _, group := range []struct {
		name string
		m    map[string]*string
	}{{"params", s.Params}, {"env", s.Env}} {
		for k, v := range group.m {
			p := group.name + "." + k
			if _, dup := values[k]; dup {
				c.fail(p, "param "+strconv.Quote(k)+" is given in both params and env")
				continue
			}
			values[k] = v
			paths = append(paths, p)
		}
	}
	sort.Slice(paths, func(i, j int) bool {
		li, lj := c.seen[paths[i]].line, c.seen[paths[j]].line
		return li < lj || (li == lj && paths[i] < paths[j])
	})
	out := make([]krtv1.Param, 0, len(paths))
	for _, p := range paths {
		_, name, _ := strings.Cut(p, ".")
		out = append(out, krtv1.Param{Name: name, Default: values[name]})
	}
	return out, paths
}

// step maps one seed step onto a native step.
func (c *seedConv) step(list string, i int, st *seedStep) krtv1.Step {
	at := list + "[" + strconv.Itoa(i) + "]."
	out := krtv1.Step{
		Name:    st.Name,
		Uses:    st.Tool,
		With:    rewriteMap(st.Inputs),
		Env:     rewriteMap(c.env(at, st)),
		Needs:   st.DependsOn,
		If:      rewriteCondition(st.Condition),
		Outputs: st.Outputs,
		Timeout: st.Timeout,
		Run:     rewriteScript(c.script(at, st)),
	}
	out.Cluster, out.Runtime = c.runner(at, st.Runner)
	if out.Runtime == "" {
		out.Runner = st.Runner
	}
	if st.Retries != nil {
		if *st.Retries < 0 {
			c.fail(at+"retries", "retries must not be negative")
		}
		out.Retries = &krtv1.StepRetries{Limit: *st.Retries}
	}
	return out
}

// runner keeps a plain runner for the engine to resolve (a Cluster, else
// a Runtime), and splits "cluster/runtime".
func (c *seedConv) runner(at, runner string) (cluster, runtime string) {
	if !strings.Contains(runner, "/") {
		return "", ""
	}
	cluster, runtime, _ = strings.Cut(runner, "/")
	if cluster == "" || runtime == "" || strings.Contains(runtime, "/") {
		c.fail(at+"runner", `runner must be "<runtime>" or "<cluster>/<runtime>", got `+strconv.Quote(runner))
	}
	return cluster, runtime
}

// script picks the one of script, run and command that was given; they
// are three spellings of the same field, so giving two is ambiguous.
func (c *seedConv) script(at string, st *seedStep) string {
	var got []string
	var text string
	for _, f := range []struct{ name, val string }{{"script", st.Script}, {"run", st.Run}, {"command", st.Command}} {
		if _, written := c.seen[at+f.name]; written {
			got = append(got, f.name)
			text = f.val
		}
	}
	if len(got) > 1 {
		c.fail(at+got[1], "only one of script, run and command may be given (also got "+got[0]+")")
	}
	return text
}

// rewriteMap rewrites references in every value of an inputs/env map.
func rewriteMap(m map[string]string) map[string]string {
	if m == nil {
		return nil
	}
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[k] = rewriteValue(v)
	}
	return out
}
