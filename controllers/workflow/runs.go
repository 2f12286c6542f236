package workflow

import (
	"context"
	"fmt"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"

	krtv1 "krt.dev/krt/api/v1alpha1"
	"krt.dev/krt/workflows/dag"
)

// unseenRetry is how soon to look again for a Run that exists but that no
// cache has shown yet; its create event normally comes first.
const unseenRetry = time.Second

// createParallelism bounds the creates one pass has in flight: a wide
// fan-out goes at the API server's pace rather than one round trip at a
// time, without flooding it.
const createParallelism = 16

// pendingRun is a node whose Run is built and waits for its create.
type pendingRun struct {
	node    string // by name: adding nodes may move the status slice
	cluster string
	t       target
	run     *krtv1.Run
	err     error
}

// createRun queues a node's Run for flushRuns. The name is a hash of the
// run, its UID and the node, so after a restart the create finds the Run
// it made before instead of making a second one.
func (p *pass) createRun(ctx context.Context, n *krtv1.NodeStatus, out built) {
	t, err := p.target(ctx, out.cluster)
	if err != nil {
		p.waitCluster(n, out.cluster, err)
		return
	}
	run, err := p.newRun(n.Name, out.spec, t)
	if err != nil {
		p.errs = append(p.errs, err)
		return
	}
	p.pending = append(p.pending, pendingRun{node: n.Name, cluster: out.cluster, t: t, run: run})
}

// flushRuns creates the queued Runs, concurrently, then records each
// result in its node. A Run the cache already holds is not created again:
// a pass reading a status older than its own last patch would otherwise
// send a create for every node of a fan-out, each refused.
func (p *pass) flushRuns(ctx context.Context) {
	pending := p.pending
	p.pending = nil
	sem := make(chan struct{}, createParallelism)
	var wg sync.WaitGroup
	for i := range pending {
		pr := &pending[i]
		if err := pr.t.client.Get(ctx, client.ObjectKeyFromObject(pr.run), &krtv1.Run{}); err == nil {
			pr.err = apierrors.NewAlreadyExists(krtv1.GroupVersion.WithResource("runs").GroupResource(), pr.run.Name)
			continue
		}
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			pr.err = pr.t.client.Create(ctx, pr.run)
		}()
	}
	wg.Wait()
	for i := range pending {
		p.created(ctx, &pending[i])
	}
}

// created records the outcome of one create in its node.
func (p *pass) created(ctx context.Context, pr *pendingRun) {
	n, err := p.nodes.get(pr.node), pr.err
	switch {
	case err == nil, apierrors.IsAlreadyExists(err):
	case apierrors.IsInvalid(err):
		// No retry makes an invalid spec valid.
		p.settle(n, krtv1.NodeFailed, "creating its Run: "+err.Error())
		return
	case !pr.t.hub:
		p.waitCluster(n, pr.cluster, err)
		return
	default:
		p.errs = append(p.errs, fmt.Errorf("creating Run for node %s: %w", n.Name, err))
		return
	}
	if n.Started == nil {
		now := metav1.NewTime(p.now)
		n.Started = &now
	}
	n.Phase, n.Run, n.Runtime, n.Cluster, n.NextTry, n.Message = krtv1.NodeRunning, pr.run.Name, pr.run.Spec.Runtime, pr.cluster, nil, ""
	delete(p.missing, n.Name)
	p.log.Info("step started", "step", n.Name, "attempt", max(n.Attempt, 1), "run", pr.run.Name, "cluster", orHub(n.Cluster))
	if apierrors.IsAlreadyExists(err) {
		// The run's status may be older than its Runs (a stale cache, a
		// restart): take up what the Run has done since.
		p.adopt(ctx, n, pr.t)
	}
}

func (p *pass) newRun(node string, spec krtv1.RunSpec, t target) (*krtv1.Run, error) {
	wr := p.wr
	run := &krtv1.Run{
		ObjectMeta: metav1.ObjectMeta{
			Name:      dag.RunName(wr.Name, string(wr.UID), node),
			Namespace: t.namespace,
			Labels: map[string]string{
				krtv1.LabelWorkflowRun:    dag.LabelValue(wr.Name),
				krtv1.LabelWorkflowRunUID: string(wr.UID),
				krtv1.LabelNode:           labelValue(node),
			},
			Annotations: map[string]string{krtv1.AnnotationOrigin: wr.Namespace + "/" + wr.Name, krtv1.AnnotationNode: node,
				krtv1.AnnotationTraceparent: traceparentOf(wr, node), krtv1.AnnotationWorkflow: wr.Spec.Workflow},
		},
		Spec: spec,
	}
	// What started the run, for the Runtime's allowedWorkflows.
	for _, k := range []string{krtv1.LabelEvent, krtv1.LabelRepository} {
		if v := wr.Labels[k]; v != "" {
			run.Labels[k] = v
		}
	}
	if t.hub {
		// Owner references cannot cross clusters; remote Runs are found
		// by their origin annotation instead.
		if err := controllerutil.SetControllerReference(wr, run, p.r.client.Scheme()); err != nil {
			return nil, err
		}
	}
	return run, nil
}

// adopt reads a Run that already existed and applies its state, if it is
// this run's: a Run of that name made by another WorkflowRun (a forged
// one, in a namespace shared with another tenant) fails the node instead.
func (p *pass) adopt(ctx context.Context, n *krtv1.NodeStatus, t target) {
	run := &krtv1.Run{}
	key := client.ObjectKey{Namespace: t.namespace, Name: n.Run}
	err := t.client.Get(ctx, key, run)
	if apierrors.IsNotFound(err) && t.hub && p.r.live != nil {
		err = p.r.live.Get(ctx, key, run)
	}
	if err != nil {
		p.wakeAt(p.now.Add(unseenRetry))
		return
	}
	if !p.ours(run) {
		p.foreign(n, run)
		return
	}
	p.apply(n, run)
}

// foreign fails a node whose Run's name is taken by another WorkflowRun's
// Run. Adopting it would report, and on a cancel stop, a Run this run
// never made; waiting would never end.
func (p *pass) foreign(n *krtv1.NodeStatus, run *krtv1.Run) {
	msg := fmt.Sprintf("Run %s in %s/%s belongs to another WorkflowRun (%s=%q, origin %q), not to this one (%s); krt does not adopt it",
		run.Name, orHub(n.Cluster), run.Namespace, krtv1.LabelWorkflowRunUID, run.Labels[krtv1.LabelWorkflowRunUID],
		run.Annotations[krtv1.AnnotationOrigin], p.wr.UID)
	p.settle(n, krtv1.NodeFailed, msg)
	n.Run, n.Runtime = "", "" // nor are its logs this run's to show
	p.r.recorder.Event(p.wr, corev1.EventTypeWarning, ReasonForeignRun, msg)
}
