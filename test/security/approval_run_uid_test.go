package security

import (
	"context"
	"strings"
	"testing"
	"time"

	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	krtv1 "krt.dev/krt/api/v1alpha1"
	"krt.dev/krt/test/kubetest"
)

// TestApprovalOfAnotherRun: alice approves the gate of run deploy with
// the real CLI. The run is deleted and a new run takes its name; alice's
// old Approval still names "deploy" (envtest has no garbage collector,
// which would delete it with its owner: the same as a collector that has
// not got to it yet). Nor does an Approval that alice makes naming deploy
// but another run's UID count. Both are ignored; only alice's approval
// of the new run opens its gate.
//
// "Ignored" is shown by an event, not a sleep: mallory, who is no
// approver, decides after them, and the engine's message naming her
// decision proves a pass that listed every Approval, oldest first,
// including the stale ones, and left the gate waiting.
func TestApprovalOfAnotherRun(t *testing.T) {
	ctx := context.Background()
	ns := env.Namespace(t)
	alice, aliceKubeconfig := approverUser(t, ns, "alice")
	mallory, _ := approverUser(t, ns, "mallory")

	old := gatedRun(t, ns, "deploy")
	out, code := runKrtCLIAs(t, aliceKubeconfig, "wf", "approve", "-n", ns, "deploy", "gate")
	if code != 0 {
		t.Fatalf("krt wf approve as alice (exit %d):\n%s", code, out)
	}
	waitGate(t, old, krtv1.NodeSucceeded, "approved by alice")
	list := &krtv1.ApprovalList{}
	if err := env.Client.List(ctx, list, client.InNamespace(ns)); err != nil || len(list.Items) != 1 {
		t.Fatalf("approvals: %v, %v; want alice's one", list.Items, err)
	}
	stale := list.Items[0]
	if stale.Spec.WorkflowRunUID != old.UID || len(stale.OwnerReferences) != 1 || stale.OwnerReferences[0].UID != old.UID {
		t.Fatalf("alice's approval is not pinned to and owned by run %s (%s): %+v %+v", old.Name, old.UID, stale.Spec, stale.OwnerReferences)
	}
	deleteRun(t, ns, old.Name)

	other := gatedRun(t, ns, "other")
	again := gatedRun(t, ns, "deploy")
	if again.UID == old.UID {
		t.Fatal("the new run has the old one's UID")
	}
	decide := func(c client.Client, user string, uid types.UID) {
		t.Helper()
		a := &krtv1.Approval{ObjectMeta: metav1.ObjectMeta{Namespace: ns, GenerateName: user + "-"},
			Spec: krtv1.ApprovalSpec{WorkflowRun: "deploy", WorkflowRunUID: uid, Step: "gate", Decision: "approve", User: user}}
		if err := c.Create(ctx, a); err != nil {
			t.Fatal(err)
		}
	}
	decide(alice, "alice", other.UID)
	decide(mallory, "mallory", again.UID)
	waitGate(t, again, krtv1.NodeWaiting, "ignored the decision of mallory")
	if cur := gateOf(t, again); cur.ApprovedBy != "" {
		t.Fatalf("the new run's gate was decided by %s, with an Approval of another run", cur.ApprovedBy)
	}

	out, code = runKrtCLIAs(t, aliceKubeconfig, "wf", "approve", "-n", ns, "deploy", "gate")
	if code != 0 {
		t.Fatalf("krt wf approve of the new run as alice (exit %d):\n%s", code, out)
	}
	waitGate(t, again, krtv1.NodeSucceeded, "approved by alice")
}

// gatedRun creates a run that waits at a gate only alice approves.
func gatedRun(t *testing.T, ns, name string) *krtv1.WorkflowRun {
	t.Helper()
	wr := &krtv1.WorkflowRun{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec: krtv1.WorkflowRunSpec{Workflow: "deploy", Event: krtv1.WorkflowEvent{Type: krtv1.EventManual, Manual: &krtv1.ManualEvent{User: kubetest.AdminUser}},
			Definition: krtv1.WorkflowSpec{Steps: []krtv1.Step{
				{Name: "gate", Approval: &krtv1.ApprovalGate{Approvers: []string{"alice"}}},
				{Name: "after", Needs: []string{"gate"}, Approval: &krtv1.ApprovalGate{Approvers: []string{"alice"}}},
			}}},
	}
	if err := env.Client.Create(context.Background(), wr); err != nil {
		t.Fatal(err)
	}
	waitGate(t, wr, krtv1.NodeWaiting, "waiting for approval by alice")
	return wr
}

func gateOf(t *testing.T, wr *krtv1.WorkflowRun) krtv1.NodeStatus {
	t.Helper()
	cur := &krtv1.WorkflowRun{}
	if err := env.Client.Get(context.Background(), client.ObjectKeyFromObject(wr), cur); err != nil {
		t.Fatal(err)
	}
	for _, n := range cur.Status.Nodes {
		if n.Name == "gate" {
			return n
		}
	}
	return krtv1.NodeStatus{}
}

// waitGate waits for the run's gate to be in phase, its message holding msg.
func waitGate(t *testing.T, wr *krtv1.WorkflowRun, phase krtv1.NodePhase, msg string) {
	t.Helper()
	var last krtv1.NodeStatus
	eventually(t, time.Minute, "gate of "+wr.Name+" to be "+string(phase)+": "+msg+stack.ControllerState(), func() bool {
		cur := &krtv1.WorkflowRun{}
		if env.Client.Get(context.Background(), client.ObjectKeyFromObject(wr), cur) != nil || cur.UID != wr.UID {
			return false
		}
		for _, n := range cur.Status.Nodes {
			if n.Name == "gate" {
				last = n
			}
		}
		return last.Phase == phase && strings.Contains(last.Message, msg)
	})
}

// approverUser is a user whom a Role in ns lets create Approvals and read
// WorkflowRuns, as `krt wf approve` needs, as a client and a kubeconfig.
func approverUser(t *testing.T, ns, user string) (client.Client, string) {
	t.Helper()
	c := certUser(t, user)
	grant(t, c, ns, "run-approver", user, []rbacv1.PolicyRule{
		{APIGroups: []string{krtv1.GroupVersion.Group}, Resources: []string{"approvals"}, Verbs: []string{"get", "list", "create"}},
		{APIGroups: []string{krtv1.GroupVersion.Group}, Resources: []string{"workflowruns"}, Verbs: []string{"get", "list", "watch"}},
	}, &krtv1.WorkflowRunList{})
	kubeconfig, err := env.UserKubeconfig(user)
	if err != nil {
		t.Fatal(err)
	}
	return c, kubeconfig
}
