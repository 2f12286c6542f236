package v1alpha1

import "strings"

// AnnotationWorkflow on a Run a WorkflowRun made names its Workflow, so
// that what handles the Run (the scheduler, the reaper, runtimed) can say
// which workflow a line is about.
const AnnotationWorkflow = "krt.dev/workflow"

// LogValues are the key/value pairs of every log line about this run:
// workflow and workflowRun.
func (w *WorkflowRun) LogValues() []any {
	return []any{"workflow", w.Spec.Workflow, "workflowRun", w.Name}
}

// LogValues are the key/value pairs of every log line about this Run: run
// and attempt, and for a workflow's step also workflow, workflowRun and
// step, read from what the WorkflowRun wrote on it.
func (r *Run) LogValues() []any {
	// Attempts count from 1; a Run not yet placed awaits its first.
	kv := []any{"run", r.Name, "attempt", max(r.Status.Attempt, 1)}
	origin := r.Annotations[AnnotationOrigin]
	if origin == "" {
		return kv
	}
	if i := strings.LastIndex(origin, "/"); i >= 0 {
		origin = origin[i+1:]
	}
	return append(kv, "workflow", r.Annotations[AnnotationWorkflow], "workflowRun", origin, "step", r.Annotations[AnnotationNode])
}
