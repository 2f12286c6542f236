package workflow

import (
	"context"
	"strings"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"

	krtv1 "krt.dev/krt/api/v1alpha1"
	"krt.dev/krt/controllers/tracing"
)

// runTimes is what a node's Run recorded of its last attempt, kept from
// the pass that saw it end for the spans of its phases.
type runTimes struct {
	created, scheduled, started, completed time.Time
	phase                                  krtv1.RunPhase
}

func timesOf(run *krtv1.Run) runTimes {
	t := runTimes{created: run.CreationTimestamp.Time, phase: run.Status.Phase}
	if s := run.Status.ScheduledTime; s != nil {
		t.scheduled = s.Time
	}
	if s := run.Status.StartTime; s != nil {
		t.started = s.Time
	}
	if s := run.Status.CompletionTime; s != nil {
		t.completed = s.Time
	}
	return t
}

// traceparentOf is a node's span, the parent of its Run's phases
// wherever the Run runs: its Run carries it as an annotation, so spans
// about the Run in another cluster can join the run's trace.
func traceparentOf(wr *krtv1.WorkflowRun, node string) string {
	return tracing.Traceparent(tracing.TraceID(string(wr.UID)), tracing.SpanID(string(wr.UID), "node", node))
}

// trace emits the spans of what ended in a pass whose status is stored:
// each node that is done now and was not before, and the run once it
// ends. A pass that lost its patch is done again and emits then; one
// whose stored status already showed the end emits nothing, so a restart
// does not repeat spans (and were one repeated, its IDs are the same).
func (r *Reconciler) trace(ctx context.Context, before, wr *krtv1.WorkflowRun, ended map[string]runTimes) {
	if r.tracer == nil {
		return
	}
	uid := string(wr.UID)
	tid, root := tracing.TraceID(uid), tracing.SpanID(uid)
	was := map[string]bool{}
	for _, n := range before.Status.Nodes {
		was[n.Name] = n.Phase.Done()
	}
	for i := range wr.Status.Nodes {
		n := &wr.Status.Nodes[i]
		if !n.Phase.Done() || was[n.Name] {
			continue
		}
		id := tracing.SpanID(uid, "node", n.Name)
		r.tracer.Emit(ctx, tid, nodeSpan(wr, n, id, root))
		if t, ok := ended[n.Name]; ok {
			for _, s := range phaseSpans(uid, n, id, t) {
				r.tracer.Emit(ctx, tid, s)
			}
		}
	}
	if wr.Status.Phase.Terminal() && !before.Status.Phase.Terminal() {
		r.tracer.Emit(ctx, tid, runSpan(wr, root))
	}
}

// runSpan is the trace's root: the run from its creation (queueing and
// approval included) to its end.
func runSpan(wr *krtv1.WorkflowRun, id trace.SpanID) tracing.Span {
	end := wr.CreationTimestamp.Time
	if c := wr.Status.CompletionTime; c != nil {
		end = c.Time
	}
	s := tracing.Span{Name: "workflowrun " + wr.Spec.Workflow, ID: id, Start: wr.CreationTimestamp.Time, End: end,
		Attrs: []attribute.KeyValue{
			attribute.String("krt.workflow", wr.Spec.Workflow),
			attribute.String("krt.workflowrun", wr.Name),
			attribute.String("krt.namespace", wr.Namespace),
			attribute.String("krt.event", wr.Spec.Event.Type),
			attribute.String("krt.phase", string(wr.Status.Phase)),
		}}
	if wr.Status.Phase != krtv1.WorkflowSucceeded {
		s.Failed = string(wr.Status.Phase)
	}
	return s
}

// nodeSpan is one node, step or approval, from its start to its end; a
// node that never started (skipped) is an instant at its end.
func nodeSpan(wr *krtv1.WorkflowRun, n *krtv1.NodeStatus, id, root trace.SpanID) tracing.Span {
	end := wr.CreationTimestamp.Time
	if n.Finished != nil {
		end = n.Finished.Time
	} else if c := wr.Status.CompletionTime; c != nil {
		end = c.Time
	}
	start := end
	if n.Started != nil {
		start = n.Started.Time
	}
	kind := nodeKind(&wr.Spec.Definition, n.Name)
	s := tracing.Span{Name: kind + " " + n.Name, ID: id, Parent: root, Start: start, End: end,
		Attrs: []attribute.KeyValue{
			attribute.String("krt.node", n.Name),
			attribute.String("krt.node.kind", kind),
			attribute.String("krt.phase", string(n.Phase)),
			attribute.Int("krt.attempt", int(n.Attempt)),
			attribute.String("krt.cluster", clusterAttr(n.Cluster)),
		}}
	if n.Run != "" {
		s.Attrs = append(s.Attrs, attribute.String("krt.run", n.Run))
	}
	if n.Phase == krtv1.NodeFailed {
		s.Failed = string(n.Phase)
	}
	return s
}

// phaseSpans are the last attempt of a node's Run, phase by phase, as the
// Run's own status timed them (in its cluster's clock).
func phaseSpans(uid string, n *krtv1.NodeStatus, parent trace.SpanID, t runTimes) []tracing.Span {
	var out []tracing.Span
	add := func(phase string, from, to time.Time) {
		if from.IsZero() || to.IsZero() {
			return
		}
		out = append(out, tracing.Span{Name: "run " + phase, ID: tracing.SpanID(uid, "phase", n.Name, phase),
			Parent: parent, Start: from, End: to, Attrs: []attribute.KeyValue{
				attribute.String("krt.node", n.Name),
				attribute.String("krt.run.phase", phase),
				attribute.Int("krt.attempt", int(n.Attempt)),
				attribute.String("krt.cluster", clusterAttr(n.Cluster)),
			}})
	}
	add("pending", t.created, t.scheduled)
	add("scheduled", t.scheduled, t.started)
	add("running", t.started, t.completed)
	return out
}

// clusterAttr is where a node ran: its Cluster's name, or "hub".
func clusterAttr(cluster string) string {
	if cluster == "" {
		return "hub"
	}
	return cluster
}

// nodeKind is "approval" for a node of an approval gate, "step" otherwise.
func nodeKind(def *krtv1.WorkflowSpec, node string) string {
	step, _, _ := strings.Cut(node, "[")
	for _, steps := range [][]krtv1.Step{def.Steps, def.Finally} {
		for i := range steps {
			if steps[i].Name == step && steps[i].Approval != nil {
				return "approval"
			}
		}
	}
	return "step"
}
