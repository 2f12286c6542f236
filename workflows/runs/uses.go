package runs

import (
	"context"
	"slices"
	"strings"

	krtv1 "krt.dev/krt/api/v1alpha1"
	"krt.dev/krt/workflows/dag"
	"krt.dev/krt/workflows/expr"
)

// maxUsesItems bounds how many of a step's items Uses evaluates: past it
// the step's templates are shown as written.
const maxUsesItems = 64

// Uses says what a run will use: where its steps run, as "runtime" or
// "cluster/runtime", and the Secrets they read (secretEnv, the step's and
// its Tool's). An approver of a pull request's run approves this, not
// only a commit. Templates are evaluated with the run's event, params and
// items; one that needs a step's outputs is shown as written.
// Without an Env, every template is shown as written.
func Uses(ctx context.Context, env *expr.Env, wr *krtv1.WorkflowRun) string {
	env = env.ForEvent()
	vars := expr.Vars{Run: map[string]any{"name": wr.Name, "namespace": wr.Namespace, "workflow": wr.Spec.Workflow, "revision": wr.Spec.Revision}}
	if ev, err := EventVars(wr.Spec.Event, wr.Spec.Revision); err == nil && env != nil {
		vars.Event = ev
		vars.Params, _ = ParamVars(ctx, env, wr.Spec.Definition.Params, wr.Spec.Params, ev)
	}
	var places, secrets []string
	add := func(list *[]string, s string) {
		if !slices.Contains(*list, s) {
			*list = append(*list, s)
		}
	}
	for _, steps := range [][]krtv1.Step{wr.Spec.Definition.Steps, wr.Spec.Definition.Finally} {
		for i := range steps {
			s := &steps[i]
			if s.Approval != nil {
				continue
			}
			tool := toolOf(wr.Spec.Tools, s.Uses)
			for _, item := range usesItems(ctx, env, vars, s) {
				add(&places, place(ctx, env, vars, item, s, tool))
			}
			for _, e := range secretRefs(s, tool) {
				add(&secrets, e.SecretKeyRef.Name+"/"+e.SecretKeyRef.Key)
			}
			if tool != nil {
				for _, v := range tool.Volumes { // every key, as files
					add(&secrets, v.Secret+"/*")
				}
			}
		}
	}
	slices.Sort(places)
	slices.Sort(secrets)
	out := "its steps run on " + strings.Join(places, ", ")
	if len(secrets) == 0 {
		return out + ", and read no Secrets"
	}
	return out + ", and read the Secrets " + strings.Join(secrets, ", ")
}

func toolOf(tools []krtv1.NamedTool, name string) *krtv1.ToolSpec {
	for i := range tools {
		if name != "" && tools[i].Name == name {
			return &tools[i].Spec
		}
	}
	return nil
}

// usesItems are the values `item` takes in a step, or one nil; a step
// with too many, or items that cannot be known yet, gives one nil too, and
// its templates that read item are then shown as written.
func usesItems(ctx context.Context, env *expr.Env, vars expr.Vars, s *krtv1.Step) []any {
	if env == nil || dag.MaxStepNodes(s) > maxUsesItems {
		return []any{nil}
	}
	var out []any
	switch {
	case s.ForEach != nil:
		for _, raw := range s.ForEach.Items {
			v, err := env.Interpolate(ctx, raw, vars)
			if err != nil {
				return []any{nil}
			}
			out = append(out, v)
		}
	case len(s.Matrix) > 0:
		for _, it := range dag.Matrix(s.Matrix) {
			out = append(out, it.Value)
		}
	default:
		out = []any{nil}
	}
	return out
}

// place is where one node runs: "runtime", "cluster/runtime", "runner
// NAME", or "the default runtime".
func place(ctx context.Context, env *expr.Env, vars expr.Vars, item any, s *krtv1.Step, tool *krtv1.ToolSpec) string {
	vars.Item = item
	value := func(raw string) string {
		if env == nil {
			return raw
		}
		v, err := env.Interpolate(ctx, raw, vars)
		if err != nil {
			return raw
		}
		return v
	}
	if s.Runner != "" {
		// The engine resolves it when the node starts (a Cluster, else a
		// Runtime); the approver sees the name the file gives.
		return "runner " + value(s.Runner)
	}
	runtime := s.Runtime
	if runtime == "" && tool != nil {
		runtime = tool.Runtime
	}
	if image := s.Image; runtime == "" && (image != "" || tool != nil && tool.Image != "") {
		if image == "" {
			image = tool.Image
		}
		return "a Runtime of image " + image
	}
	if runtime == "" && s.Cluster == "" {
		return "the default runtime"
	}
	runtime = value(runtime)
	cluster := ""
	if c, rt, ok := strings.Cut(runtime, "/"); ok && !strings.Contains(runtime, "${{") {
		cluster, runtime = c, rt
	}
	if s.Cluster != "" {
		cluster = value(s.Cluster)
	}
	if cluster == "" {
		return runtime
	}
	return cluster + "/" + runtime
}

// secretRefs are the step's secretEnv over its Tool's, by name, as the
// step's Run gets them.
func secretRefs(s *krtv1.Step, tool *krtv1.ToolSpec) []krtv1.SecretEnvVar {
	byName := map[string]krtv1.SecretEnvVar{}
	if tool != nil {
		env, _ := tool.ResolveEnvironment() // a bad entry fails the step, reading nothing
		for _, e := range append(env.SecretEnv, tool.SecretEnv...) {
			byName[e.Name] = e
		}
	}
	for _, e := range s.SecretEnv {
		byName[e.Name] = e
	}
	out := make([]krtv1.SecretEnvVar, 0, len(byName))
	for _, e := range byName {
		out = append(out, e)
	}
	return out
}
