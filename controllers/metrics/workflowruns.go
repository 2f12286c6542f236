package metrics

import (
	"context"
	"strings"

	"github.com/prometheus/client_golang/prometheus"
	"sigs.k8s.io/controller-runtime/pkg/client"

	krtv1 "krt.dev/krt/api/v1alpha1"
)

var workflowPhases = []krtv1.WorkflowRunPhase{krtv1.WorkflowPending, krtv1.WorkflowAwaitingApproval,
	krtv1.WorkflowRunning, krtv1.WorkflowSucceeded, krtv1.WorkflowFailed, krtv1.WorkflowCancelled}

type workflowKey struct{ namespace, workflow string }

// collectWorkflowRuns reports WorkflowRuns by workflow and phase, and the
// approvals they wait for.
func (c *collector) collectWorkflowRuns(ctx context.Context, ch chan<- prometheus.Metric) error {
	list := &krtv1.WorkflowRunList{}
	if err := c.cache.List(ctx, list, client.UnsafeDisableDeepCopy); err != nil {
		return err
	}
	counts := map[workflowKey]map[krtv1.WorkflowRunPhase]int{}
	steps := map[workflowKey]int{}
	prs := map[workflowKey]int{}
	for i := range list.Items {
		wr := &list.Items[i]
		k := workflowKey{wr.Namespace, wr.Spec.Workflow}
		if counts[k] == nil {
			counts[k] = map[krtv1.WorkflowRunPhase]int{}
		}
		phase := wr.Status.Phase
		if phase == "" {
			phase = krtv1.WorkflowPending
		}
		counts[k][phase]++
		if phase == krtv1.WorkflowAwaitingApproval {
			prs[k]++
		}
		if !phase.Terminal() {
			steps[k] += gatesWaiting(wr)
		}
	}
	for k, byPhase := range counts {
		for _, p := range workflowPhases {
			gauge(ch, workflowRunsDesc, float64(byPhase[p]), k.namespace, k.workflow, string(p))
		}
		gauge(ch, approvalsDesc, float64(steps[k]), k.namespace, k.workflow, "step")
		gauge(ch, approvalsDesc, float64(prs[k]), k.namespace, k.workflow, "pull_request")
	}
	return nil
}

// gatesWaiting counts the run's nodes that wait on an approval gate: a
// Waiting node of a step with an approval (Waiting alone may also be a
// backoff or an unreachable cluster).
func gatesWaiting(wr *krtv1.WorkflowRun) int {
	gated := map[string]bool{}
	def := wr.Spec.Definition
	for _, s := range append(append([]krtv1.Step(nil), def.Steps...), def.Finally...) {
		if s.Approval != nil {
			gated[s.Name] = true
		}
	}
	n := 0
	for _, node := range wr.Status.Nodes {
		if node.Phase == krtv1.NodeWaiting && gated[stepOf(node.Name)] {
			n++
		}
	}
	return n
}

// stepOf is a node's step: its name without a forEach or matrix item, so
// that items do not multiply the step label.
func stepOf(node string) string {
	if i := strings.IndexByte(node, '['); i > 0 {
		return node[:i]
	}
	return node
}
