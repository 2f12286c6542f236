package workflow

import (
	"context"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	krtv1 "krt.dev/krt/api/v1alpha1"
	"krt.dev/krt/test/kubetest"
	"krt.dev/krt/workflows/dag"
)

// A Run whose node never reached status (its pass lost the status patch)
// is still stopped by a cancel, and shows up as a Cancelled node; a Run of
// another WorkflowRun with the same name label, and even the same origin,
// is left alone: only the UID label makes a Run this run's.
func TestCancelStopsUnrecordedRuns(t *testing.T) {
	ctx := context.Background()
	ns := env.Namespace(t)
	wr := newRun(t, ns, "ghostly", krtv1.WorkflowSpec{Steps: []krtv1.Step{
		{Name: "elsewhere", Cluster: "nowhere", Runtime: "bash", Run: "true"},
	}}, nil)
	waitNode(t, wr, "elsewhere", krtv1.NodeWaiting, "nowhere")

	ghost := unrecordedRun(ns, "ghost", wr.Namespace+"/"+wr.Name, string(wr.UID))
	stranger := unrecordedRun(ns, "stranger", wr.Namespace+"/"+wr.Name, "uid-of-a-namesake-in-another-hub")
	for _, run := range []*krtv1.Run{ghost, stranger} {
		if err := env.Client.Create(ctx, run); err != nil {
			t.Fatal(err)
		}
	}
	patch := client.MergeFrom(wr.DeepCopy())
	wr.Spec.CancelRequested, wr.Spec.CancelledBy = true, kubetest.AdminUser
	if err := env.Client.Patch(ctx, wr, patch); err != nil {
		t.Fatal(err)
	}
	waitPhase(t, wr, krtv1.WorkflowCancelled)
	if n := waitNode(t, wr, "ghost[a]", krtv1.NodeCancelled, ""); n.Run != ghost.Name {
		t.Errorf("node ghost[a] = %+v, want its Run %s", n, ghost.Name)
	}
	eventually(t, "the unrecorded Run to be asked to cancel", func() (bool, string) {
		err := env.Client.Get(ctx, client.ObjectKeyFromObject(ghost), ghost)
		return err == nil && ghost.Spec.CancelRequested, "not yet"
	})
	if err := env.Client.Get(ctx, client.ObjectKeyFromObject(stranger), stranger); err != nil || stranger.Spec.CancelRequested {
		t.Errorf("another run's Run was cancelled (%v)", err)
	}
}

// unrecordedRun is a Run as the engine makes it for node "<name>[a]" of
// the WorkflowRun at origin with uid.
func unrecordedRun(ns, name, origin, uid string) *krtv1.Run {
	return &krtv1.Run{
		ObjectMeta: metav1.ObjectMeta{Name: "ghostly-" + name, Namespace: ns,
			Labels: map[string]string{krtv1.LabelWorkflowRun: dag.LabelValue("ghostly"),
				krtv1.LabelWorkflowRunUID: uid, krtv1.LabelNode: name + "_a"},
			Annotations: map[string]string{krtv1.AnnotationOrigin: origin, krtv1.AnnotationNode: name + "[a]"}},
		Spec: krtv1.RunSpec{Runtime: "bash", Script: "sleep 600"},
	}
}
