package security

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	krtv1 "krt.dev/krt/api/v1alpha1"
	"krt.dev/krt/cmd/krt/runops"
	"krt.dev/krt/controllers/workflow"
)

// A deploy pool takes only web's pushes. mallory may start and rerun
// WorkflowRuns in its namespace, as krt wf trigger and rerun need, and
// wants a script of hers on that pool. A run that says it is a push, a
// manual run labelled as one, and one carrying main's push (whose branch
// would pick the cache scope web's pushes restore) are refused by
// admission. A rerun of web's real push runs as that push did; a "rerun"
// with her script in it, one of a run that never existed, and two that
// name each other end RerunRefused without a Run: the proof files they
// would write are absent.
func TestWorkflowRunOriginCannotBeForged(t *testing.T) {
	ctx := context.Background()
	ns := env.Namespace(t)
	startRuntime(t, ns, "deploy", 1, func(rt *krtv1.Runtime) {
		rt.Spec.AllowedWorkflows = []krtv1.WorkflowSelector{{Repository: "web", Events: []string{krtv1.EventPush}}}
	})
	proof := t.TempDir()
	pushOf := func(name, script string) *krtv1.WorkflowRun {
		return &krtv1.WorkflowRun{
			ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name,
				Labels: map[string]string{krtv1.LabelEvent: krtv1.EventPush, krtv1.LabelRepository: "web"}},
			Spec: krtv1.WorkflowRunSpec{Workflow: "deploy",
				Event:      krtv1.WorkflowEvent{Type: krtv1.EventPush, Push: &krtv1.PushEvent{Revision: "main@sha1:" + strings.Repeat("a", 40), Branch: "main", Time: metav1.Now()}},
				Definition: krtv1.WorkflowSpec{Steps: []krtv1.Step{{Name: "ship", Runtime: "deploy", Run: script}}}},
		}
	}
	touch := func(file string) string { return `touch "` + filepath.Join(proof, file) + `"` }
	mallory := runStarter(t, ns, "mallory")
	// krt wf rerun reads the workflow, to make it the rerun's owner.
	grant(t, mallory, ns, "workflow-reader", "mallory", []rbacv1.PolicyRule{{APIGroups: []string{krtv1.GroupVersion.Group},
		Resources: []string{"workflows"}, Verbs: []string{"get", "list"}}}, &krtv1.WorkflowList{})

	t.Run("admission", func(t *testing.T) {
		manual := pushOf("manual-as-push", touch("manual-as-push"))
		manual.Spec.Event = krtv1.WorkflowEvent{Type: krtv1.EventManual, Manual: &krtv1.ManualEvent{User: "mallory"}}
		// Unlabelled, but carrying main's push: its cache scope would be
		// the branch's, which web's pushes restore.
		payload := pushOf("manual-with-push-payload", touch("manual-with-push-payload"))
		payload.Labels = map[string]string{krtv1.LabelRepository: "web"}
		payload.Spec.Event.Type, payload.Spec.Event.Manual = krtv1.EventManual, &krtv1.ManualEvent{User: "mallory"}
		for _, wr := range []*krtv1.WorkflowRun{pushOf("says-push", touch("says-push")), manual, payload} {
			err := mallory.Create(ctx, wr)
			if !apierrors.IsForbidden(err) || !strings.Contains(err.Error(), "only krt-controller starts") {
				t.Errorf("%s: %v; want it refused, naming krt-controller", wr.Name, err)
			}
		}
	})

	// web's push, as krt-controller's trigger makes it (an admin stands in).
	genuine := pushOf("web-push", `touch "`+proof+`/$(date +%s%N)"`)
	if err := env.Client.Create(ctx, genuine); err != nil {
		t.Fatal(err)
	}
	if wr := exprWaitRun(t, ns, genuine.Name, 2*time.Minute); wr.Status.Phase != krtv1.WorkflowSucceeded {
		t.Fatalf("web's push: %s: %s", wr.Status.Phase, wr.Status.Message)
	}

	t.Run("faithful rerun runs", func(t *testing.T) {
		rerun, err := runops.Rerun(ctx, mallory, genuine, "mallory")
		if err != nil {
			t.Fatalf("mallory's rerun of web's push: %v", err)
		}
		if wr := exprWaitRun(t, ns, rerun.Name, 2*time.Minute); wr.Status.Phase != krtv1.WorkflowSucceeded {
			t.Fatalf("a faithful rerun: %s: %s", wr.Status.Phase, wr.Status.Message)
		}
	})

	forged := runops.RerunOf(genuine, "mallory")
	forged.GenerateName, forged.Name = "", "her-script"
	forged.Spec.Definition.Steps[0].Run = touch("her-script")
	ghost := pushOf("ghost-rerun", touch("ghost-rerun"))
	ghost.Spec.RerunOf, ghost.Spec.TriggeredBy = "never-was", "mallory"
	// b names a, which does not exist yet; a names b.
	loopB := pushOf("loop-b", touch("loop-b"))
	loopB.Spec.RerunOf, loopB.Spec.TriggeredBy = "loop-a", "mallory"
	loopA := pushOf("loop-a", touch("loop-a"))
	loopA.Spec.RerunOf, loopA.Spec.TriggeredBy = "loop-b", "mallory"
	refused := []struct {
		wr   *krtv1.WorkflowRun
		says string
	}{
		{forged, "its spec differs"},
		{ghost, "does not exist"},
		{loopB, "spec.rerunOf"},
		{loopA, "spec.rerunOf"},
	}
	for _, tc := range refused {
		if err := mallory.Create(ctx, tc.wr); err != nil {
			t.Fatalf("admission lets a rerun through, to the engine: %s: %v", tc.wr.Name, err)
		}
	}
	for _, tc := range refused {
		t.Run("refused/"+tc.wr.Name, func(t *testing.T) {
			wr := exprWaitRun(t, ns, tc.wr.Name, time.Minute)
			ready := apimeta.FindStatusCondition(wr.Status.Conditions, krtv1.ConditionReady)
			if wr.Status.Phase != krtv1.WorkflowFailed || ready == nil || ready.Reason != workflow.ReasonRerunRefused ||
				!strings.Contains(wr.Status.Message, tc.says) {
				t.Errorf("want Failed, %s, saying %q; got %s: %s", workflow.ReasonRerunRefused, tc.says, wr.Status.Phase, wr.Status.Message)
			}
			if len(wr.Status.Nodes) != 0 {
				t.Errorf("a refused rerun has nodes: %v", wr.Status.Nodes)
			}
			if _, err := os.Stat(filepath.Join(proof, tc.wr.Name)); err == nil {
				t.Errorf("%s's script ran on the deploy pool", tc.wr.Name)
			}
		})
	}
	runs := &krtv1.RunList{}
	if err := env.Client.List(ctx, runs, client.InNamespace(ns)); err != nil {
		t.Fatal(err)
	}
	for _, r := range runs.Items {
		if o := r.Annotations[krtv1.AnnotationOrigin]; !strings.HasSuffix(o, "/web-push") && !strings.Contains(o, "-rerun-") {
			t.Errorf("Run %s was made for %s", r.Name, o)
		}
	}
}
