package workflow

import (
	"context"

	krtv1 "krt.dev/krt/api/v1alpha1"
	"krt.dev/krt/workflows/dag"
	"krt.dev/krt/workflows/expr"
	"krt.dev/krt/workflows/runs"
)

// eventVars is `event` in expressions; the trigger side evaluates on.when
// with the same map, so both see one event.
func eventVars(wr *krtv1.WorkflowRun) (map[string]any, error) {
	return runs.EventVars(wr.Spec.Event, wr.Spec.Revision)
}

// paramVars merges the run's params over the definition's defaults.
func paramVars(ctx context.Context, env *expr.Env, wr *krtv1.WorkflowRun, event map[string]any) (map[string]any, error) {
	return runs.ParamVars(ctx, env, wr.Spec.Definition.Params, wr.Spec.Params, event)
}

// stepVars is `steps` in expressions. Every step of the definition is
// there, started or not, so steps.x.status == "success" is false rather
// than an error for a step that never ran.
func stepVars(summaries map[string]dag.Summary) map[string]expr.StepVars {
	out := make(map[string]expr.StepVars, len(summaries))
	for name, s := range summaries {
		out[name] = expr.StepVars{Outputs: s.Outputs, Artifacts: s.Artifacts, Phase: string(s.Phase), Status: seedStatus(s.Phase)}
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
