package workflow

import (
	"context"
	"fmt"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	krtv1 "krt.dev/krt/api/v1alpha1"
)

// observe reads each running node's Run, from the cache of the cluster it
// runs in, and folds its state into the node.
func (p *pass) observe(ctx context.Context) {
	for i := range p.wr.Status.Nodes {
		n := &p.wr.Status.Nodes[i]
		if n.Run == "" || n.Phase.Done() {
			continue
		}
		t, err := p.target(ctx, n.Cluster)
		if err != nil {
			p.lostCluster(n, err)
			continue
		}
		run := &krtv1.Run{}
		err = t.client.Get(ctx, client.ObjectKey{Namespace: t.namespace, Name: n.Run}, run)
		switch {
		case apierrors.IsNotFound(err):
			p.missing[n.Name] = true
		case err != nil && t.hub:
			p.errs = append(p.errs, err)
		case err != nil:
			p.lostCluster(n, err)
		case !p.ours(run):
			p.foreign(n, run)
		default:
			p.apply(n, run)
		}
	}
}

// apply maps a Run's phase onto its node. A Run that is retrying stays a
// running node: only its last attempt decides.
func (p *pass) apply(n *krtv1.NodeStatus, run *krtv1.Run) {
	n.Attempt = run.Status.Attempt
	n.CacheHit, n.Memoized = run.Status.CacheHit, run.Status.Memoized
	phase := run.Status.Phase
	if phase.Terminal() && !n.Phase.Done() {
		defer func() {
			p.log.Info("step ended", "step", n.Name, "attempt", n.Attempt, "run", run.Name, "phase", n.Phase, "message", n.Message)
		}()
	}
	if !phase.Terminal() {
		n.Phase = krtv1.NodeRunning
		n.Message = clip(run.Status.Message, maxNodeMessage)
		return
	}
	finished := metav1.NewTime(p.now)
	if run.Status.CompletionTime != nil {
		finished = *run.Status.CompletionTime
	}
	n.Finished = &finished
	p.ended[n.Name] = timesOf(run)
	n.Message = clip(runMessage(run), maxNodeMessage)
	switch phase {
	case krtv1.RunSucceeded:
		n.Phase = krtv1.NodeSucceeded
		var dropped []string
		n.Outputs, dropped = boundOutputs(run.Status.Outputs)
		n.Artifacts = run.Status.Artifacts
		n.Message = ""
		if len(dropped) > 0 {
			n.Message = clip(fmt.Sprintf("outputs past %d KiB dropped: %s", maxNodeOutputs>>10,
				strings.Join(dropped, ", ")), maxNodeMessage)
		}
	case krtv1.RunCancelled:
		n.Phase = krtv1.NodeCancelled
	default:
		n.Phase = krtv1.NodeFailed
	}
}

// runMessage says why a Run ended, in the Run's own words when it has any.
func runMessage(run *krtv1.Run) string {
	switch {
	case run.Status.Message != "":
		return run.Status.Message
	case run.Status.Reason != "":
		return run.Status.Reason
	case run.Status.ExitCode != nil:
		return fmt.Sprintf("exit code %d", *run.Status.ExitCode)
	}
	return "the Run ended " + string(run.Status.Phase)
}

// cancel stops the run: its Runs are asked to stop wherever they run, and
// every node not yet done is Cancelled. Finally steps do not run.
func (p *pass) cancel(ctx context.Context) error {
	p.adoptUnrecorded(ctx)
	err := p.cancelRuns(ctx)
	for i := range p.wr.Status.Nodes {
		if n := &p.wr.Status.Nodes[i]; !n.Phase.Done() {
			p.settle(n, krtv1.NodeCancelled, "cancelled")
		}
	}
	p.end(krtv1.WorkflowCancelled, ReasonCancelled, "cancelled")
	return err
}

// cancelRuns sets cancelRequested on every Run of the run that has not
// ended. It is safe to repeat: a cancelled run calls it again on each
// change of its Runs, so one created just before the cancel stops too.
func (p *pass) cancelRuns(ctx context.Context) error {
	for i := range p.wr.Status.Nodes {
		n := &p.wr.Status.Nodes[i]
		if n.Run == "" || (n.Phase.Done() && n.Phase != krtv1.NodeCancelled) {
			continue
		}
		if err := p.cancelRun(ctx, n); err != nil {
			p.errs = append(p.errs, fmt.Errorf("cancelling Run %s of node %s: %w", n.Run, n.Name, err))
		}
	}
	return p.err()
}

func (p *pass) cancelRun(ctx context.Context, n *krtv1.NodeStatus) error {
	t, err := p.target(ctx, n.Cluster)
	if err != nil {
		return err
	}
	run := &krtv1.Run{}
	if err := t.client.Get(ctx, client.ObjectKey{Namespace: t.namespace, Name: n.Run}, run); err != nil {
		return client.IgnoreNotFound(err)
	}
	if !p.ours(run) || run.Status.Phase.Terminal() || run.Spec.CancelRequested {
		return nil // another WorkflowRun's Run is never ours to stop
	}
	base := run.DeepCopy()
	run.Spec.CancelRequested = true
	return client.IgnoreNotFound(t.client.Patch(ctx, run, client.MergeFrom(base)))
}
