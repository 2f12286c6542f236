package workflow

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"sigs.k8s.io/controller-runtime/pkg/client"

	krtv1 "krt.dev/krt/api/v1alpha1"
	"krt.dev/krt/workflows/dag"
)

// adoptUnrecorded puts into status the Runs of this run that status does
// not list: a pass can create a Run and then lose its status patch to a
// conflict (a cancel written at that moment, say). The walk finds such a
// Run again when it creates it, but a cancel does not walk, and would
// leave it running unseen. Runs are found by label in the hub and in each
// cluster the run names, and their node by annotation; only those with
// this run's UID are taken.
func (p *pass) adoptUnrecorded(ctx context.Context) {
	known := map[string]bool{}
	for _, n := range p.wr.Status.Nodes {
		if n.Run != "" {
			known[n.Cluster+"/"+n.Run] = true
		}
	}
	for _, cluster := range p.clustersNamed() {
		t, err := p.target(ctx, cluster)
		if err != nil {
			continue // a cluster that is not there has no Runs to stop
		}
		list := &krtv1.RunList{}
		err = t.client.List(ctx, list, client.InNamespace(t.namespace),
			client.MatchingLabels{krtv1.LabelWorkflowRun: dag.LabelValue(p.wr.Name), krtv1.LabelWorkflowRunUID: string(p.wr.UID)})
		if err != nil {
			p.errs = append(p.errs, fmt.Errorf("listing the Runs of this run in %s: %w", orHub(cluster), err))
			continue
		}
		for i := range list.Items {
			run := &list.Items[i]
			node := run.Annotations[krtv1.AnnotationNode]
			if known[cluster+"/"+run.Name] || node == "" || !p.ours(run) {
				continue
			}
			n := p.nodes.add(krtv1.NodeStatus{Name: node, Phase: krtv1.NodeRunning})
			n.Run, n.Runtime, n.Cluster = run.Name, run.Spec.Runtime, cluster
		}
	}
}

// ours tells this run's Runs from those of a namesake: in a remote
// namespace that several hub namespaces (or hubs) share, names and origin
// annotations repeat; the UID label does not.
func (p *pass) ours(run *krtv1.Run) bool {
	return run.Labels[krtv1.LabelWorkflowRunUID] == string(p.wr.UID)
}

// clustersNamed lists the hub ("") and every cluster a node ran in or a
// step names literally; a name computed by an expression is only known
// once its node has it.
func (p *pass) clustersNamed() []string {
	out := []string{""}
	add := func(c string) {
		if !slices.Contains(out, c) {
			out = append(out, c)
		}
	}
	for _, n := range p.wr.Status.Nodes {
		add(n.Cluster)
	}
	def := p.wr.Spec.Definition
	for _, steps := range [][]krtv1.Step{def.Steps, def.Finally} {
		for _, s := range steps {
			if !strings.Contains(s.Cluster, "${{") {
				add(s.Cluster)
			}
		}
	}
	return out
}

func orHub(cluster string) string {
	if cluster == "" {
		return "the hub"
	}
	return "cluster " + cluster
}
