package workflow

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/go-logr/logr"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	ctrl "sigs.k8s.io/controller-runtime"

	krtv1 "krt.dev/krt/api/v1alpha1"
	"krt.dev/krt/workflows/dag"
	"krt.dev/krt/workflows/expr"
)

// pass is one reconcile of one run: what it has read, and what it has
// found to wait for.
type pass struct {
	r     *Reconciler
	wr    *krtv1.WorkflowRun
	now   time.Time
	nodes *nodes
	// expr evaluates this pass's expressions, all within one budget: a
	// run's definition cannot spend the controller's time without end.
	expr *expr.Env

	summaries map[string]dag.Summary
	steps     map[string]expr.StepVars
	params    map[string]any
	event     map[string]any
	runPhase  string
	// failedAt is the first step, in definition order, with a failed
	// node: from then on no new step starts.
	failedAt string
	// missing are nodes whose Run is gone; they are created again.
	missing map[string]bool

	targets    map[string]target
	approvals  []krtv1.Approval
	listed     bool
	clusterMsg string
	// defaultRT is the default runtime, once a step needed it.
	defaultRT string
	wake      time.Time
	errs      []error
	// pending are Runs built in this pass, created together by flushRuns.
	pending []pendingRun
	// runtimeList caches the namespace's Runtimes for steps with an image.
	runtimeList *[]krtv1.Runtime
	// audited are the history's new entries, reported once stored.
	audited []krtv1.AuditEntry
	// ended are the Runs seen ending in this pass, for their spans.
	ended map[string]runTimes
	// log carries the run's workflow and name; lines about a node add
	// step, attempt and run.
	log logr.Logger
}

func (r *Reconciler) newPass(wr *krtv1.WorkflowRun) *pass {
	return &pass{r: r, wr: wr, now: r.now(), nodes: newNodes(wr), expr: r.expr.ForPass(), missing: map[string]bool{},
		targets: map[string]target{}, ended: map[string]runTimes{}, runPhase: string(krtv1.WorkflowRunning)}
}

// wakeAt asks for a reconcile at t, keeping the nearest of the timers.
func (p *pass) wakeAt(t time.Time) {
	if p.wake.IsZero() || t.Before(p.wake) {
		p.wake = t
	}
}

func (p *pass) result() ctrl.Result {
	if p.wake.IsZero() {
		return ctrl.Result{}
	}
	return ctrl.Result{RequeueAfter: max(p.wake.Sub(p.now), 10*time.Millisecond)}
}

func (p *pass) err() error { return errors.Join(p.errs...) }

// progress observes the Runs, starts what may start, and ends the run
// once every step, then every finally step, is done.
func (p *pass) progress(ctx context.Context) error {
	var err error
	if p.event, err = eventVars(p.wr); err == nil {
		p.params, err = paramVars(ctx, p.expr, p.wr, p.event)
	}
	if err != nil {
		p.end(krtv1.WorkflowFailed, ReasonFailed, err.Error())
		return nil
	}
	p.observe(ctx)
	def := &p.wr.Spec.Definition
	p.summarize(def)
	p.walk(ctx, def.Steps, false)
	if p.allDone(def.Steps) {
		p.runPhase = string(krtv1.WorkflowSucceeded)
		if p.failedAt != "" {
			p.runPhase = string(krtv1.WorkflowFailed)
		}
		p.walk(ctx, def.Finally, true)
		if p.allDone(def.Finally) {
			p.finish()
			return p.err()
		}
	}
	markRunning(p.wr, ReasonProgressing, "the run is in progress")
	p.clusterCondition()
	return p.err()
}

func (p *pass) summarize(def *krtv1.WorkflowSpec) {
	p.summaries = make(map[string]dag.Summary, len(def.Steps)+len(def.Finally))
	p.steps = make(map[string]expr.StepVars, len(p.summaries))
	for _, list := range [][]krtv1.Step{def.Steps, def.Finally} {
		for i := range list {
			p.resummarize(list[i].Name)
		}
	}
	for i := range def.Steps {
		if p.failedAt == "" && p.hasFailed(def.Steps[i].Name) {
			p.failedAt = def.Steps[i].Name
		}
	}
}

func (p *pass) resummarize(step string) {
	s := p.nodes.summary(step)
	p.summaries[step] = s
	p.steps[step] = expr.StepVars{Outputs: s.Outputs, Artifacts: s.Artifacts, Phase: string(s.Phase), Status: seedStatus(s.Phase)}
}

// hasFailed reports whether any node of the step failed, even while its
// other nodes run.
func (p *pass) hasFailed(step string) bool {
	for _, name := range p.nodes.ofStep(step) {
		if ph := p.nodes.get(name).Phase; ph == krtv1.NodeFailed || ph == krtv1.NodeCancelled {
			return true
		}
	}
	return false
}

func (p *pass) vars(item any) expr.Vars {
	return expr.Vars{Params: p.params, Steps: p.steps, Event: p.event, Item: item, Run: runVars(p.wr, p.runPhase)}
}

func (p *pass) allDone(steps []krtv1.Step) bool {
	for i := range steps {
		if s := p.summaries[steps[i].Name]; !s.Started || !s.Phase.Done() {
			return false
		}
	}
	return true
}

// walk moves the started steps' nodes on, then starts steps whose needs
// are met until none more can start. A pass over the steps in order starts
// a chain in one go when its steps are written in order.
func (p *pass) walk(ctx context.Context, steps []krtv1.Step, finally bool) {
	for i := range steps {
		if p.summaries[steps[i].Name].Started {
			p.advance(ctx, &steps[i], finally)
		}
	}
	for progressed := true; progressed; {
		progressed = false
		for i := range steps {
			if !p.summaries[steps[i].Name].Started && p.open(ctx, &steps[i], steps, finally) {
				progressed = true
			}
		}
	}
}

// advance moves on the nodes of a started step that have no Run yet: an
// approval gate, a node waiting for its cluster, or a node whose Run was
// deleted under it.
func (p *pass) advance(ctx context.Context, s *krtv1.Step, finally bool) {
	var items map[string]any
	for _, name := range p.nodes.ofStep(s.Name) {
		n := p.nodes.get(name)
		switch {
		case n.Phase.Done(), n.Run != "" && !p.missing[name]:
			continue
		case !finally && p.failedAt != "" && n.Run == "":
			p.settle(n, krtv1.NodeSkipped, "not started: the run failed at step "+p.failedAt)
			continue
		}
		if items == nil {
			var err error
			if items, err = p.items(ctx, s); err != nil {
				p.settle(n, krtv1.NodeFailed, err.Error())
				continue
			}
		}
		p.start(ctx, s, name, items[name])
	}
	p.flushRuns(ctx)
	p.noteStep(s.Name, finally)
}

// items maps a step's node names to their `item`.
func (p *pass) items(ctx context.Context, s *krtv1.Step) (map[string]any, error) {
	list, err := expand(ctx, p.expr, p.vars(nil), s, krtv1.MaxNodes)
	if err != nil {
		return nil, err
	}
	out := make(map[string]any, len(list))
	for _, it := range list {
		out[dag.NodeName(s.Name, it.Key)] = it.Value
	}
	return out, nil
}

// open decides a step that has no nodes yet; it reports whether it did.
func (p *pass) open(ctx context.Context, s *krtv1.Step, steps []krtv1.Step, finally bool) bool {
	if !finally && p.failedAt != "" {
		return p.decided(s, krtv1.NodeSkipped, "not started: the run failed at step "+p.failedAt, finally)
	}
	wait, failed, skipped := dag.Blocked(*s, steps, p.summaries)
	switch {
	case wait:
		return false
	case !finally && len(failed) > 0:
		return p.decided(s, krtv1.NodeSkipped, "not started: the run failed at step "+failed[0], finally)
	case !finally && len(skipped) > 0 && s.If == "":
		return p.decided(s, krtv1.NodeSkipped, fmt.Sprintf("needs %s, which was skipped", skipped[0]), finally)
	}
	if s.If != "" {
		ok, err := p.expr.EvalBool(ctx, s.If, p.vars(nil))
		if err != nil {
			return p.decided(s, krtv1.NodeFailed, "if: "+err.Error(), finally)
		}
		if !ok {
			return p.decided(s, krtv1.NodeSkipped, "if was false", finally)
		}
	}
	// One node fewer than the room left: the failed step needs its own.
	room := krtv1.MaxNodes - len(p.wr.Status.Nodes)
	list, err := expand(ctx, p.expr, p.vars(nil), s, room-1)
	if err != nil {
		return p.decided(s, krtv1.NodeFailed, err.Error(), finally)
	}
	for _, it := range list {
		name := dag.NodeName(s.Name, it.Key)
		p.nodes.add(krtv1.NodeStatus{Name: name, Phase: krtv1.NodePending})
		p.start(ctx, s, name, it.Value)
	}
	p.flushRuns(ctx)
	p.noteStep(s.Name, finally)
	return true
}

// decided gives a step one node that ends as it was decided, unrun.
func (p *pass) decided(s *krtv1.Step, phase krtv1.NodePhase, msg string, finally bool) bool {
	p.settle(p.nodes.add(krtv1.NodeStatus{Name: s.Name}), phase, msg)
	p.noteStep(s.Name, finally)
	return true
}

// settle ends a node in phase with a message.
func (p *pass) settle(n *krtv1.NodeStatus, phase krtv1.NodePhase, msg string) {
	now := metav1.NewTime(p.now)
	n.Phase, n.Message, n.Finished, n.NextTry = phase, clip(msg, maxNodeMessage), &now, nil
	kv := []any{"step", n.Name, "phase", phase, "message", n.Message}
	if n.Run != "" { // an approval gate, or a node whose Run was never made, has no attempt
		kv = append(kv, "attempt", max(n.Attempt, 1), "run", n.Run)
	}
	p.log.Info("step ended", kv...)
}

// noteStep refreshes a step's summary after its nodes changed, and starts
// fail-fast once a normal step has failed.
func (p *pass) noteStep(step string, finally bool) {
	p.resummarize(step)
	if !finally && p.failedAt == "" && p.hasFailed(step) {
		p.failedAt = step
	}
}

// start moves one node on: an approval gate waits for its decision;
// anything else gets its Run.
func (p *pass) start(ctx context.Context, s *krtv1.Step, name string, item any) {
	n := p.nodes.get(name)
	if s.Approval != nil {
		p.gate(ctx, s, n)
		return
	}
	if n.NextTry != nil && p.now.Before(n.NextTry.Time) {
		if n.Phase == krtv1.NodeWaiting && n.Cluster != "" {
			p.noteCluster(n.Message) // still waiting: keep the condition
		}
		p.wakeAt(n.NextTry.Time)
		return
	}
	b := runBuilder{env: p.expr, vars: p.vars(item), tools: p.wr.Spec.Tools, params: p.wr.Spec.Definition.Params, runtimes: p.runtimesOf, place: p, scope: dataScope(p.wr)}
	out, err := b.build(ctx, s)
	var w *waitRuntime
	if errors.As(err, &w) {
		p.waitImage(n, w)
		return
	}
	if u, ok := isUnresolved(err); ok {
		p.waitRunner(n, u)
		return
	}
	if err != nil {
		p.settle(n, krtv1.NodeFailed, err.Error())
		return
	}
	p.createRun(ctx, n, out)
}

// finish ends the run: Failed if any node failed, in a step or a finally
// step; skipped nodes are fine.
func (p *pass) finish() {
	failed := failedSteps(p.wr)
	if len(failed) > 0 {
		p.end(krtv1.WorkflowFailed, ReasonFailed, failureMessage(p.wr, failed))
		return
	}
	done, skipped := 0, 0
	for _, n := range p.wr.Status.Nodes {
		if n.Phase == krtv1.NodeSkipped {
			skipped++
		} else {
			done++
		}
	}
	p.end(krtv1.WorkflowSucceeded, ReasonSucceeded, fmt.Sprintf("%d nodes succeeded, %d skipped", done, skipped))
}
