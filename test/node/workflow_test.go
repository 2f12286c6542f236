package node_test

import (
	"context"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	krtv1 "krt.dev/krt/api/v1alpha1"
)

// nodeAdmin is who the node's admin kubeconfig authenticates as.
const nodeAdmin = "krt-node-admin"

func createWorkflow(t *testing.T, ns, name string, spec krtv1.WorkflowSpec) {
	t.Helper()
	wf := &krtv1.Workflow{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}, Spec: spec}
	if err := c.Create(context.Background(), wf); err != nil {
		t.Fatalf("creating workflow %s: %v", name, err)
	}
}

func waitWorkflowRun(t *testing.T, ns, name, what string, timeout time.Duration, cond func(*krtv1.WorkflowRun) bool) *krtv1.WorkflowRun {
	t.Helper()
	wr := &krtv1.WorkflowRun{}
	eventually(t, ns, timeout, "workflow run "+name+" to "+what, func() bool {
		return c.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: name}, wr) == nil && cond(wr)
	})
	return wr
}

func wfNode(wr *krtv1.WorkflowRun, name string) krtv1.NodeStatus {
	for _, n := range wr.Status.Nodes {
		if n.Name == name {
			return n
		}
	}
	return krtv1.NodeStatus{}
}

// A workflow on real pods: a python step's outputs cross an approval
// into a bash step.
func TestWorkflowWithOutputsPythonAndApproval(t *testing.T) {
	ns := restrictedNamespace(t, "workflow")
	pythonRuntime(t, ns, "python", 1)
	createWorkflow(t, ns, "release", krtv1.WorkflowSpec{
		On: krtv1.Triggers{Manual: &krtv1.ManualTrigger{}},
		Steps: []krtv1.Step{
			{Name: "build", Runtime: "python", Language: krtv1.LanguagePython, Run: strings.Join([]string{
				"import json, os, platform",
				"with open(os.environ['KRT_OUTPUTS'], 'a') as f:",
				"    f.write('version=' + platform.python_version() + '\\n')",
				"    f.write('report=' + json.dumps({'passed': 3}) + '\\n')",
			}, "\n")},
			{Name: "gate", Needs: []string{"build"}, Approval: &krtv1.ApprovalGate{Approvers: []string{nodeAdmin}}},
			{Name: "deploy", Needs: []string{"gate"}, Runtime: "python",
				Run: `echo "deployed=python ${{ steps.build.outputs.version }} ${{ steps.build.outputs.report }}" >> "$KRT_OUTPUTS"`},
		},
	})
	run := strings.TrimSpace(krtOK(t, "wf", "trigger", "-n", ns, "release"))
	waitWorkflowRun(t, ns, run, "wait at the gate", 2*time.Minute, func(wr *krtv1.WorkflowRun) bool {
		return wfNode(wr, "gate").Phase == krtv1.NodeWaiting
	})
	krtOK(t, "wf", "approve", "-n", ns, run, "gate")
	wr := waitWorkflowRun(t, ns, run, "end", 2*time.Minute, func(wr *krtv1.WorkflowRun) bool { return wr.Status.Phase.Terminal() })
	if wr.Status.Phase != krtv1.WorkflowSucceeded {
		t.Fatalf("run %s ended %s: %s", run, wr.Status.Phase, wr.Status.Message)
	}
	want := `python 3.11.2 {"passed": 3}`
	if got := wfNode(wr, "deploy").Outputs["deployed"]; got != want {
		t.Errorf("deploy's output = %q, want %q (build's outputs carried across the gate)", got, want)
	}
	logs := krtOK(t, "wf", "logs", "-n", ns, run)
	if !strings.Contains(logs, "deploy") {
		t.Errorf("krt wf logs lacks the deploy step:\n%s", logs)
	}
}
