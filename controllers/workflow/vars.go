package workflow

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strings"

	krtv1 "krt.dev/krt/api/v1alpha1"
	"krt.dev/krt/workflows/dag"
	"krt.dev/krt/workflows/expr"
)

// eventVars is `event` in expressions: the trigger as its JSON form, so
// event.pullRequest.number reads the same as the API, plus a few flat keys
// that workflows would otherwise compute per trigger type.
func eventVars(wr *krtv1.WorkflowRun) (map[string]any, error) {
	raw, err := json.Marshal(wr.Spec.Event)
	if err != nil {
		return nil, err
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	// Numbers stay numbers CEL compares as ints (a PR number is not 42.0).
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil {
		return nil, err
	}
	m = integers(m).(map[string]any)
	ev := wr.Spec.Event
	if pr, ok := m["pullRequest"].(map[string]any); ok {
		// omitempty drops false flags, and `!event.pullRequest.draft`
		// must not fail with "no such key" on a ready PR.
		for _, k := range []string{"draft", "fork"} {
			if _, set := pr[k]; !set {
				pr[k] = false
			}
		}
	}
	revision, branch := wr.Spec.Revision, ""
	switch {
	case ev.Push != nil:
		revision, branch = ev.Push.Revision, ev.Push.Branch
	case ev.PullRequest != nil:
		revision, branch = ev.PullRequest.HeadSHA, ev.PullRequest.HeadRef
	}
	// "main@sha1:<hash>" becomes the bare hash, so revision.substring(0, 7)
	// is a short commit id as users expect.
	m["revision"] = commitOf(revision)
	m["branch"] = branch
	m["type"] = ev.Type
	return m, nil
}

// integers turns json.Numbers into int64 where they are whole, else float64.
func integers(v any) any {
	switch t := v.(type) {
	case map[string]any:
		for k, e := range t {
			t[k] = integers(e)
		}
		return t
	case []any:
		for i, e := range t {
			t[i] = integers(e)
		}
		return t
	case json.Number:
		if i, err := t.Int64(); err == nil {
			return i
		}
		f, _ := t.Float64()
		return f
	}
	return v
}

// commitOf takes the hash out of "branch@sha1:<hash>" or "sha1:<hash>".
func commitOf(revision string) string {
	if i := strings.LastIndexByte(revision, ':'); i >= 0 {
		return revision[i+1:]
	}
	return revision
}

// paramVars merges the run's params over the definition's defaults. A
// default may be a template over event, for example a short revision.
func paramVars(ctx context.Context, env *expr.Env, wr *krtv1.WorkflowRun, event map[string]any) (map[string]any, error) {
	out := make(map[string]any, len(wr.Spec.Definition.Params)+len(wr.Spec.Params))
	for _, p := range wr.Spec.Definition.Params {
		if _, given := wr.Spec.Params[p.Name]; given || p.Default == nil {
			continue
		}
		v, err := env.Interpolate(ctx, *p.Default, expr.Vars{Event: event, Params: map[string]any{}})
		if err != nil {
			return nil, fmt.Errorf("default of param %s: %w", p.Name, err)
		}
		out[p.Name] = v
	}
	for k, v := range wr.Spec.Params {
		out[k] = v
	}
	return out, nil
}

// stepVars is `steps` in expressions. Every step of the definition is
// there, started or not, so steps.x.status == "success" is false rather
// than an error for a step that never ran.
func stepVars(summaries map[string]dag.Summary) map[string]expr.StepVars {
	out := make(map[string]expr.StepVars, len(summaries))
	for name, s := range summaries {
		out[name] = expr.StepVars{Outputs: s.Outputs, Phase: string(s.Phase), Status: seedStatus(s.Phase)}
	}
	return out
}

// seedStatus is a node phase in the words the seed dialect compares with.
func seedStatus(p krtv1.NodePhase) string {
	switch p {
	case krtv1.NodeSucceeded:
		return "success"
	case krtv1.NodeFailed, krtv1.NodeCancelled:
		return "failed"
	case krtv1.NodeSkipped:
		return "skipped"
	case krtv1.NodeRunning, krtv1.NodeWaiting:
		return "running"
	}
	return "pending"
}

// runVars is `run` in expressions.
func runVars(wr *krtv1.WorkflowRun, phase string) map[string]any {
	return map[string]any{
		"name":      wr.Name,
		"namespace": wr.Namespace,
		"workflow":  wr.Spec.Workflow,
		"revision":  wr.Spec.Revision,
		"phase":     phase,
	}
}
