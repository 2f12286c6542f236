package workflow

import (
	"context"
	"encoding/json"
	"testing"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"sigs.k8s.io/controller-runtime/pkg/client"

	krtv1 "krt.dev/krt/api/v1alpha1"
)

// A pass that ran one node and added the next patches those two nodes and
// the phase, not the whole list.
func TestStatusDiffCarriesOnlyChangedNodes(t *testing.T) {
	before := &krtv1.WorkflowRunStatus{Phase: krtv1.WorkflowRunning, Nodes: []krtv1.NodeStatus{
		{Name: "a", Phase: krtv1.NodeSucceeded}, {Name: "b", Phase: krtv1.NodeRunning}}}
	after := before.DeepCopy()
	after.Nodes[1].Phase = krtv1.NodeSucceeded
	after.Nodes = append(after.Nodes, krtv1.NodeStatus{Name: "c", Phase: krtv1.NodeRunning})
	after.Message = "2 of 3"
	ops, err := statusDiff(before, after)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := json.Marshal(ops)
	want := `[{"op":"add","path":"/status/message","value":"2 of 3"},` +
		`{"op":"replace","path":"/status/nodes/1","value":{"name":"b","phase":"Succeeded"}},` +
		`{"op":"add","path":"/status/nodes/-","value":{"name":"c","phase":"Running"}}]`
	if string(got) != want {
		t.Errorf("ops = %s\nwant  %s", got, want)
	}
}

// The patch is fenced like MergeFromWithOptimisticLock: made from a stale
// read, it conflicts, so the pass is retried from a fresh one.
func TestStatusPatchFromAStaleReadConflicts(t *testing.T) {
	ns := env.Namespace(t)
	wr := newRun(t, ns, "fenced", krtv1.WorkflowSpec{Steps: []krtv1.Step{{Name: "a", Runtime: "bash", Run: "true"}}}, nil)
	waitNode(t, wr, "a", krtv1.NodeRunning, "")
	ctx := context.Background()
	var stale *krtv1.WorkflowRun
	eventually(t, "a patch from a fresh read", func() (bool, string) {
		fresh := &krtv1.WorkflowRun{}
		if err := env.Client.Get(ctx, client.ObjectKeyFromObject(wr), fresh); err != nil {
			return false, err.Error()
		}
		stale = fresh.DeepCopy()
		fresh.Status.Nodes[0].Message = "patched"
		p, err := statusPatch(stale, fresh)
		if err == nil {
			err = env.Client.Status().Patch(ctx, fresh, p)
		}
		return err == nil, "patch: " + errString(err)
	})
	again := stale.DeepCopy()
	again.Status.Nodes[0].Message = "from a stale read"
	p, err := statusPatch(stale, again)
	if err != nil {
		t.Fatal(err)
	}
	if err := env.Client.Status().Patch(ctx, again, p); !apierrors.IsConflict(err) {
		t.Fatalf("a patch from a stale read: %v, want a conflict", err)
	}
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}
