package workflow

import (
	"context"
	"fmt"
	"time"

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

// createRun creates a node's Run where the node runs. The name is a hash
// of the run and the node, so after a restart the create finds the Run it
// made before instead of making a second one.
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
	err = t.client.Create(ctx, run)
	switch {
	case err == nil, apierrors.IsAlreadyExists(err):
	case apierrors.IsInvalid(err):
		// No retry makes an invalid spec valid.
		p.settle(n, krtv1.NodeFailed, "creating its Run: "+err.Error())
		return
	case !t.hub:
		p.waitCluster(n, out.cluster, err)
		return
	default:
		p.errs = append(p.errs, fmt.Errorf("creating Run for node %s: %w", n.Name, err))
		return
	}
	if n.Started == nil {
		now := metav1.NewTime(p.now)
		n.Started = &now
	}
	n.Phase, n.Run, n.Cluster, n.NextTry, n.Message = krtv1.NodeRunning, run.Name, out.cluster, nil, ""
	delete(p.missing, n.Name)
	if apierrors.IsAlreadyExists(err) {
		// The run's status may be older than its Runs (a stale cache, a
		// restart): take up what the Run has done since.
		p.adopt(ctx, n, t)
	}
}

func (p *pass) newRun(node string, spec krtv1.RunSpec, t target) (*krtv1.Run, error) {
	wr := p.wr
	run := &krtv1.Run{
		ObjectMeta: metav1.ObjectMeta{
			Name:      dag.RunName(wr.Name, node),
			Namespace: t.namespace,
			Labels: map[string]string{
				krtv1.LabelWorkflowRun: dag.LabelValue(wr.Name),
				krtv1.LabelNode:        labelValue(node),
			},
			Annotations: map[string]string{krtv1.AnnotationOrigin: wr.Namespace + "/" + wr.Name},
		},
		Spec: spec,
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

// adopt reads a Run that already existed and applies its state.
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
	p.apply(n, run)
}
