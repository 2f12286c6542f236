package workflow

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/fluxcd/pkg/runtime/conditions"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	krtv1 "krt.dev/krt/api/v1alpha1"
)

// Backoff while a node waits for its cluster: it doubles from the first
// to the last, measured from when the node first tried.
const (
	firstClusterRetry = 2 * time.Second
	lastClusterRetry  = time.Minute
	// observeRetry is for a cluster lost while its Runs run; reconnecting
	// lists its Runs again, which wakes the run sooner.
	observeRetry = 15 * time.Second
)

// target is where a node's Runs live: the hub, or a remote cluster.
type target struct {
	client    client.Client
	namespace string
	hub       bool
}

// target finds where Runs for a cluster go. A missing Cluster object is
// reported as such, since the registry alone cannot tell it from a
// cluster that is down.
func (p *pass) target(ctx context.Context, name string) (target, error) {
	if name == "" {
		return target{client: p.r.client, namespace: p.wr.Namespace, hub: true}, nil
	}
	if t, ok := p.targets[name]; ok {
		return t, nil
	}
	key := types.NamespacedName{Namespace: p.wr.Namespace, Name: name}
	if err := p.r.client.Get(ctx, key, &krtv1.Cluster{}); err != nil {
		if apierrors.IsNotFound(err) {
			return target{}, fmt.Errorf("there is no Cluster %s in namespace %s", name, p.wr.Namespace)
		}
		return target{}, err
	}
	if p.r.reg == nil {
		return target{}, errors.New("this controller runs without remote clusters")
	}
	rem, err := p.r.reg.Get(key)
	if err != nil {
		return target{}, err
	}
	t := target{client: rem.Client, namespace: rem.Namespace}
	p.targets[name] = t
	return t, nil
}

// waitCluster holds a node until its cluster can be reached, retrying
// with a backoff; nothing is created there meanwhile.
func (p *pass) waitCluster(n *krtv1.NodeStatus, name string, err error) {
	if n.Started == nil {
		t := metav1.NewTime(p.now)
		n.Started = &t
	}
	delay := min(max(p.now.Sub(n.Started.Time), firstClusterRetry), lastClusterRetry)
	next := metav1.NewTime(p.now.Add(delay))
	n.Phase, n.Cluster, n.NextTry = krtv1.NodeWaiting, name, &next
	n.Message = clip(fmt.Sprintf("cluster %s: %s", name, err), maxNodeMessage)
	p.wakeAt(next.Time)
	p.noteCluster(n.Message)
}

// waitRunner holds a node whose runner names nothing yet, retrying with
// the cluster backoff: creating the Cluster or Runtime lets it start.
func (p *pass) waitRunner(n *krtv1.NodeStatus, u *unresolved) {
	if n.Started == nil {
		t := metav1.NewTime(p.now)
		n.Started = &t
	}
	delay := min(max(p.now.Sub(n.Started.Time), firstClusterRetry), lastClusterRetry)
	next := metav1.NewTime(p.now.Add(delay))
	n.Phase, n.NextTry = krtv1.NodeWaiting, &next
	n.Message = clip(u.msg, maxNodeMessage)
	p.wakeAt(next.Time)
}

// lostCluster notes a running node whose cluster cannot be read now; the
// node keeps its phase, since its Run most likely runs on.
func (p *pass) lostCluster(n *krtv1.NodeStatus, err error) {
	n.Message = clip(fmt.Sprintf("cluster %s: %s", n.Cluster, err), maxNodeMessage)
	p.wakeAt(p.now.Add(observeRetry))
	p.noteCluster(n.Message)
}

func (p *pass) noteCluster(msg string) {
	if p.clusterMsg == "" {
		p.clusterMsg = msg
	}
}

// clusterCondition is True while any node waits for a cluster, and gone
// once none does.
func (p *pass) clusterCondition() {
	if p.clusterMsg == "" {
		conditions.Delete(p.wr, ConditionClusterUnavailable)
		return
	}
	conditions.MarkTrue(p.wr, ConditionClusterUnavailable, ReasonClusterUnavailable, "%s", p.clusterMsg)
}
