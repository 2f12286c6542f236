// Package runs builds WorkflowRuns from Workflows, and the `event` and
// `params` that expressions see, so the trigger controller, the engine and
// the CLI all make runs and read events the same way.
package runs

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strings"

	krtv1 "krt.dev/krt/api/v1alpha1"
	"krt.dev/krt/workflows/expr"
)

// EventVars is `event` in expressions: the trigger as its JSON form, so
// event.pullRequest.number reads the same as the API, plus a few flat keys
// that workflows would otherwise compute per trigger type. revision is the
// run's own, used when the event carries none (schedule, manual).
func EventVars(ev krtv1.WorkflowEvent, revision string) (map[string]any, error) {
	raw, err := json.Marshal(ev)
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
	if pr, ok := m["pullRequest"].(map[string]any); ok {
		// omitempty drops false flags, and `!event.pullRequest.draft`
		// must not fail with "no such key" on a ready PR.
		for _, k := range []string{"draft", "fork"} {
			if _, set := pr[k]; !set {
				pr[k] = false
			}
		}
	}
	branch := ""
	switch {
	case ev.Push != nil:
		revision, branch = ev.Push.Revision, ev.Push.Branch
	case ev.PullRequest != nil:
		revision, branch = ev.PullRequest.HeadSHA, ev.PullRequest.HeadRef
	}
	// "main@sha1:<hash>" becomes the bare hash, so revision.substring(0, 7)
	// is a short commit id as users expect.
	m["revision"] = CommitOf(revision)
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

// CommitOf takes the hash out of "branch@sha1:<hash>" or "sha1:<hash>".
func CommitOf(revision string) string {
	if i := strings.LastIndexByte(revision, ':'); i >= 0 {
		return revision[i+1:]
	}
	return revision
}

// ParamVars merges the given params over the definition's defaults. A
// default may be a template over event, for example a short revision.
func ParamVars(ctx context.Context, env *expr.Env, defs []krtv1.Param, given map[string]string, event map[string]any) (map[string]any, error) {
	out := make(map[string]any, len(defs)+len(given))
	for _, p := range defs {
		if _, set := given[p.Name]; set || p.Default == nil {
			continue
		}
		v, err := env.Interpolate(ctx, *p.Default, expr.Vars{Event: event, Params: map[string]any{}})
		if err != nil {
			return nil, fmt.Errorf("default of param %s: %w", p.Name, err)
		}
		out[p.Name] = v
	}
	for k, v := range given {
		out[k] = v
	}
	return out, nil
}
