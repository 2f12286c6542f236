package workflow

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"math"
	"slices"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	krtv1 "krt.dev/krt/api/v1alpha1"
	"krt.dev/krt/workflows/dag"
	"krt.dev/krt/workflows/expr"
	"krt.dev/krt/workflows/validate"
)

// runBuilder turns one node of a step into a Run spec. It reads nothing
// but what it is given, so it is tested without a cluster.
type runBuilder struct {
	env    *expr.Env
	vars   expr.Vars // with item set for an expanded node
	tools  []krtv1.NamedTool
	params []krtv1.Param // the definition's, to see which defaults read event
	// runtimes lists the namespace's Runtimes, for a step with an image.
	runtimes func(context.Context) ([]krtv1.Runtime, error)
	// place resolves runners and the default runtime; nil leaves a step
	// that names no runtime an error.
	place placer
	// scope is where caches and memoized results go (dataScope).
	scope *krtv1.RunScope
}

// built is a node's Run spec and the Cluster it goes to ("" for the hub).
type built struct {
	spec    krtv1.RunSpec
	cluster string
}

func (b runBuilder) build(ctx context.Context, s *krtv1.Step) (built, error) {
	var tool *krtv1.ToolSpec
	if s.Uses != "" {
		if tool = b.tool(s.Uses); tool == nil {
			return built{}, fmt.Errorf("tool %s is not among the run's tools", s.Uses)
		}
	} else if s.Run == "" {
		return built{}, errors.New("the step has neither run nor uses")
	}
	out := built{}
	var err error
	if out.spec.Runtime, out.cluster, err = b.where(ctx, s, tool); err != nil {
		return built{}, err
	}
	var scriptVars []expr.ScriptVar
	if tool != nil {
		fromTool(&out.spec, tool)
	} else if out.spec.Script, scriptVars, err = b.env.InterpolateScript(ctx, s.Run, b.vars); err != nil {
		return built{}, fmt.Errorf("run: %w", err)
	} else {
		out.spec.Language = s.Language
	}
	if out.spec.Env, err = b.envVars(ctx, s, tool, scriptVars); err != nil {
		return built{}, err
	}
	if out.spec.SecretEnv, err = secretEnv(tool, s.SecretEnv); err != nil {
		return built{}, err
	}
	if tool != nil {
		out.spec.SecretFiles = tool.SecretFiles()
	}
	out.spec.Timeout = s.Timeout
	out.spec.RetryPolicy = retryPolicy(s.Retries)
	if err := b.data(ctx, s, &out.spec); err != nil {
		return built{}, err
	}
	return out, nil
}

func (b runBuilder) tool(name string) *krtv1.ToolSpec {
	for i := range b.tools {
		if b.tools[i].Name == name {
			return &b.tools[i].Spec
		}
	}
	return nil
}

func (b runBuilder) interpolate(ctx context.Context, field, s string) (string, error) {
	v, err := b.env.Interpolate(ctx, s, b.vars)
	if err != nil {
		return "", fmt.Errorf("%s: %w", field, err)
	}
	return v, nil
}

// where picks the runtime and cluster. A runner names both (see
// pass.runner); a runtime written "cluster/runtime" names both too; an
// explicit cluster wins. A step that names no runtime, nor does its tool,
// runs on the default one.
func (b runBuilder) where(ctx context.Context, s *krtv1.Step, tool *krtv1.ToolSpec) (runtime, cluster string, err error) {
	if s.Runner != "" && b.place != nil {
		return b.fromRunner(ctx, s)
	}
	raw := s.Runtime
	if raw == "" && tool != nil {
		raw = tool.Runtime
	}
	// Validation refused this in files; a definition applied by hand, or
	// a run made by the API, meets the same rule here.
	if bad := validate.EventPlacement(s, raw, b.params); len(bad) > 0 {
		return "", "", errors.New(bad[0].Why)
	}
	// An image is honoured before any default: it says what must run.
	if image := stepImage(s, tool); raw == "" && image != "" {
		if raw, err = b.byImage(ctx, image, stepSecrets(s, tool)); err != nil {
			return "", "", err
		}
	}
	if raw == "" && s.Cluster == "" && b.place != nil {
		if raw, err = b.place.defaultRuntime(ctx); err != nil {
			return "", "", err
		}
	}
	if runtime, err = b.interpolate(ctx, "runtime", raw); err != nil {
		return "", "", err
	}
	if c, rt, ok := strings.Cut(runtime, "/"); ok {
		cluster, runtime = c, rt
	}
	if s.Cluster != "" {
		if cluster, err = b.interpolate(ctx, "cluster", s.Cluster); err != nil {
			return "", "", err
		}
	}
	if runtime == "" && cluster != "" && b.place != nil {
		// A cluster without a runtime runs on the cluster's default.
		if runtime, err = b.place.clusterRuntime(ctx, cluster); err != nil {
			return "", "", err
		}
	}
	if runtime == "" {
		return "", "", errors.New("the step names no runtime")
	}
	return runtime, cluster, nil
}

// fromRunner resolves a step's runner, which event data may not choose.
func (b runBuilder) fromRunner(ctx context.Context, s *krtv1.Step) (runtime, cluster string, err error) {
	if bad := validate.EventPlacement(s, "", b.params); len(bad) > 0 {
		return "", "", errors.New(bad[0].Why)
	}
	name, err := b.interpolate(ctx, "runner", s.Runner)
	if err != nil {
		return "", "", err
	}
	cluster, runtime, err = b.place.runner(ctx, name)
	return runtime, cluster, err
}

// fromTool copies what the Tool executes. Its script is not interpolated:
// a tool gets its values as env, like any program would.
func fromTool(spec *krtv1.RunSpec, tool *krtv1.ToolSpec) {
	switch {
	case tool.Language == "exec" || (tool.Script == "" && len(tool.Command) > 0):
		// A command with no script is exec'd, as the documents' tools are.
		spec.Command = slices.Clone(tool.Command)
		spec.Args = slices.Clone(tool.Args)
	case tool.Language == string(krtv1.LanguagePython):
		spec.Script, spec.Language = tool.Script, krtv1.LanguagePython
	default:
		// A tool is bash unless it says otherwise, whatever the runtime's
		// first language is.
		spec.Script, spec.Language = tool.Script, krtv1.LanguageBash
	}
}

// envVars is the step's env over the tool's inputs, which reach the
// script upper-cased, with the tool's defaults for inputs not given, and
// the values of the script's ${{ }} over both.
func (b runBuilder) envVars(ctx context.Context, s *krtv1.Step, tool *krtv1.ToolSpec, script []expr.ScriptVar) ([]krtv1.EnvVar, error) {
	env := map[string]string{}
	if tool != nil {
		// The tool's environment is its defaults; inputs and env win.
		te, err := tool.ResolveEnvironment()
		if err != nil {
			return nil, fmt.Errorf("tool %s: %w", s.Uses, err)
		}
		for _, e := range te.Env {
			env[e.Name] = e.Value
		}
		if err := b.inputs(ctx, s, tool, env); err != nil {
			return nil, err
		}
	}
	for _, k := range slices.Sorted(maps.Keys(s.Env)) {
		v, err := b.interpolate(ctx, "env "+k, s.Env[k])
		if err != nil {
			return nil, err
		}
		env[k] = v
	}
	for _, v := range script {
		env[v.Name] = v.Value
	}
	if len(env) == 0 {
		return nil, nil
	}
	if len(env) > maxEnv {
		return nil, fmt.Errorf("the step passes %d environment variables (env, inputs and the values of its script's ${{ }}), more than the %d a Run may hold", len(env), maxEnv)
	}
	out := make([]krtv1.EnvVar, 0, len(env))
	for _, k := range slices.Sorted(maps.Keys(env)) {
		if len(env[k]) > maxEnvValue {
			return nil, fmt.Errorf("environment variable %s is %d bytes once interpolated, more than the %d a Run may hold", k, len(env[k]), maxEnvValue)
		}
		out = append(out, krtv1.EnvVar{Name: k, Value: env[k]})
	}
	return out, nil
}

// A Run's env limits (RunSpec.Env's MaxItems and EnvVar.Value's
// MaxLength), said here in the step's terms rather than by the API server.
const (
	maxEnv      = 256
	maxEnvValue = 65536
)

func (b runBuilder) inputs(ctx context.Context, s *krtv1.Step, tool *krtv1.ToolSpec, env map[string]string) error {
	declared := map[string]bool{}
	for _, in := range tool.Inputs {
		declared[in.Name] = true
		raw, given := s.With[in.Name]
		switch {
		case given:
		case in.Default != nil:
			raw = *in.Default
		case in.Required:
			return fmt.Errorf("tool %s needs input %s", s.Uses, in.Name)
		default:
			continue
		}
		v, err := b.interpolate(ctx, "with "+in.Name, raw)
		if err != nil {
			return err
		}
		env[envName(in.Name)] = v
	}
	// Inputs the tool does not declare still reach it: the seed dialect
	// passes inputs to tools that list none.
	for _, k := range slices.Sorted(maps.Keys(s.With)) {
		if declared[k] {
			continue
		}
		v, err := b.interpolate(ctx, "with "+k, s.With[k])
		if err != nil {
			return err
		}
		env[envName(k)] = v
	}
	return nil
}

// envName upper-cases an input name into an environment variable name.
func envName(input string) string {
	return strings.ToUpper(strings.Map(func(r rune) rune {
		if r == '-' || r == '.' {
			return '_'
		}
		return r
	}, input))
}

// secretEnv is the tool's secret env (its own, then the /secrets/ values
// of its environment) with the step's over it, by name.
func secretEnv(tool *krtv1.ToolSpec, step []krtv1.SecretEnvVar) ([]krtv1.SecretEnvVar, error) {
	var all []krtv1.SecretEnvVar
	if tool != nil {
		te, err := tool.ResolveEnvironment()
		if err != nil {
			return nil, err
		}
		all = append(append(all, te.SecretEnv...), tool.SecretEnv...)
	}
	all = append(all, step...)
	byName := map[string]krtv1.SecretEnvVar{}
	for _, e := range all {
		byName[e.Name] = e
	}
	out := make([]krtv1.SecretEnvVar, 0, len(byName))
	for _, k := range slices.Sorted(maps.Keys(byName)) {
		out = append(out, byName[k])
	}
	if len(out) == 0 {
		return nil, nil
	}
	return out, nil
}

// stepSecrets lists the Secrets a step reads, its tool's and its own.
func stepSecrets(s *krtv1.Step, tool *krtv1.ToolSpec) []string {
	var out []string
	if tool != nil {
		out = tool.Secrets()
	}
	for _, e := range s.SecretEnv {
		out = append(out, e.SecretKeyRef.Name)
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// retryPolicy maps a step's retries (after the first attempt) onto the
// Run's attempts (including it).
func retryPolicy(r *krtv1.StepRetries) *krtv1.RetryPolicy {
	if r == nil || r.Limit < 1 {
		return nil
	}
	p := &krtv1.RetryPolicy{MaxAttempts: r.Limit + 1}
	if r.Backoff != nil {
		p.Backoff = &metav1.Duration{Duration: r.Backoff.Duration}
	}
	return p
}

// expand lists a step's nodes: one per forEach item (each interpolated),
// one per matrix combination, or the step itself; at most max of them. A
// matrix is measured before any of it is built: eight axes of sixteen
// values are four billion combinations.
func expand(ctx context.Context, env *expr.Env, vars expr.Vars, s *krtv1.Step, max int) ([]dag.Item, error) {
	switch {
	case s.ForEach != nil:
		var items []dag.Item
		seen := map[string]bool{}
		for i, raw := range s.ForEach.Items {
			v, err := env.Interpolate(ctx, raw, vars)
			if err != nil {
				return nil, fmt.Errorf("forEach item %d: %w", i, err)
			}
			if key := nodeKey(v); !seen[key] {
				seen[key] = true
				items = append(items, dag.Item{Key: key, Value: v})
			}
		}
		if len(items) > max {
			return nil, tooMany(fmt.Sprint(len(items)), max)
		}
		return items, nil
	case len(s.Matrix) > 0:
		if n := dag.MatrixSize(s.Matrix); n > uint64(max) {
			size := fmt.Sprint(n)
			if n == math.MaxUint64 {
				size = fmt.Sprintf("more than %d", n)
			}
			return nil, fmt.Errorf("the matrix (%s values): %w", dag.MatrixShape(s.Matrix), tooMany(size, max))
		}
		items := dag.Matrix(s.Matrix)
		for i := range items {
			items[i].Key = nodeKey(items[i].Key)
		}
		return items, nil
	}
	return []dag.Item{{}}, nil
}

func tooMany(size string, max int) error {
	return fmt.Errorf("expands to %s nodes, more than the %d a run may still hold (at most %d in all)", size, max, krtv1.MaxNodes)
}
