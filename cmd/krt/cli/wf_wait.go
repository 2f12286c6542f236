package cli

import (
	"context"
	"fmt"
	"strings"

	"sigs.k8s.io/controller-runtime/pkg/client"

	krtv1 "krt.dev/krt/api/v1alpha1"
	"krt.dev/krt/cmd/krt/runops"
	"krt.dev/krt/workflows/dag"
)

// wfWait follows a run until it ends, printing a line on stderr whenever
// its progress changes, and maps its end onto an exit code the way
// `krt run --wait` does: 1 for a failure, 130 for a cancel.
func (r *root) wfWait(ctx context.Context, c client.WithWatch, wr *krtv1.WorkflowRun) error {
	last := ""
	var final *krtv1.WorkflowRun
	err := wfWatchRun(ctx, c, client.ObjectKeyFromObject(wr), func(cur *krtv1.WorkflowRun) bool {
		if line := wfProgress(cur); line != last {
			last = line
			fmt.Fprintln(r.Err, line)
		}
		if cur.Status.Phase.Terminal() {
			final = cur
			return true
		}
		return false
	})
	if err != nil {
		return err
	}
	switch final.Status.Phase {
	case krtv1.WorkflowSucceeded:
		return nil
	case krtv1.WorkflowCancelled:
		return &ExitError{Code: exitCancelled}
	}
	return &ExitError{Code: 1}
}

// wfProgress is one line on where a run is: "x: Running, 3/6 nodes done",
// plus the gates it waits on, or at the end why it ended.
func wfProgress(wr *krtv1.WorkflowRun) string {
	done, total := wfCountNodes(wr)
	line := fmt.Sprintf("%s: %s, %d/%d nodes done", wr.Name, wfPhase(wr), done, total)
	var gates []string
	for _, n := range wr.Status.Nodes {
		if n.Phase == krtv1.NodeWaiting && wfIsGate(wr, n.Name) {
			gates = append(gates, n.Name)
		}
	}
	switch msg := wfRunMessage(wr); {
	case len(gates) > 0 && !wr.Status.Phase.Terminal():
		line += "; waiting for approval of " + strings.Join(gates, ", ")
	case msg != "" && (wr.Status.Phase.Terminal() || wr.Status.Phase == krtv1.WorkflowAwaitingApproval):
		line += "; " + msg
	}
	return line
}

// wfCountNodes counts the nodes done and the nodes there will be: a step
// that has not started counts as one, as its expansion is not known yet.
func wfCountNodes(wr *krtv1.WorkflowRun) (done, total int) {
	started := map[string]bool{}
	for _, n := range wr.Status.Nodes {
		started[dag.StepOf(n.Name)] = true
		total++
		if n.Phase.Done() {
			done++
		}
	}
	def := &wr.Spec.Definition
	for _, list := range [][]krtv1.Step{def.Steps, def.Finally} {
		for _, s := range list {
			if !started[s.Name] {
				total++
			}
		}
	}
	return done, total
}

// wfStep finds a step of the run's definition, finally steps included.
// wfIsGate: the test lives in runops, shared with the web UI.
var wfIsGate = runops.IsGate

// wfWatchRun calls fn with the run now and after each change, until fn
// returns true or ctx ends.
func wfWatchRun(ctx context.Context, c client.WithWatch, key client.ObjectKey, fn func(*krtv1.WorkflowRun) bool) error {
	return watchObject(ctx, c, key, func() *krtv1.WorkflowRun { return &krtv1.WorkflowRun{} },
		&krtv1.WorkflowRunList{}, "the workflow run", fn)
}
