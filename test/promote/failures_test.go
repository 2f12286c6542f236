package promote

import (
	"context"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	krtv1 "krt.dev/krt/api/v1alpha1"
)

// createWorkflow creates a manual workflow in the hub from steps.
func createWorkflow(t *testing.T, ns, name string, steps ...krtv1.Step) {
	t.Helper()
	wf := &krtv1.Workflow{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
		Spec: krtv1.WorkflowSpec{On: krtv1.Triggers{Manual: &krtv1.ManualTrigger{}}, Steps: steps}}
	if err := hub.env.Client.Create(context.Background(), wf); err != nil {
		t.Fatal(err)
	}
}

func dur(d time.Duration) *metav1.Duration { return &metav1.Duration{Duration: d} }

// Failure paths with real runtimes: a retried step succeeds on its third
// attempt, a step timeout fails the run, and a step naming a cluster that
// does not exist waits with a message.
func TestFailurePaths(t *testing.T) {
	ns := hub.env.Namespace(t)
	runtime(t, hub, ns, "bash")

	t.Run("retries with backoff", func(t *testing.T) {
		createWorkflow(t, ns, "flaky", krtv1.Step{Name: "flaky", Runtime: "bash",
			Run:     `[ "$KRT_ATTEMPT" -ge 3 ] || { echo "attempt $KRT_ATTEMPT fails"; exit 1; }`,
			Retries: &krtv1.StepRetries{Limit: 2, Backoff: dur(200 * time.Millisecond)}})
		manualRun(t, ns, "flaky", "flaky", nil)
		wr := waitRun(t, ns, "flaky", "finish", func(wr *krtv1.WorkflowRun) bool { return wr.Status.Phase.Terminal() })
		if n := node(wr, "flaky"); wr.Status.Phase != krtv1.WorkflowSucceeded || n.Attempt != 3 {
			t.Errorf("run %s, node %+v: want Succeeded on attempt 3", wr.Status.Phase, n)
		}
	})

	t.Run("step timeout", func(t *testing.T) {
		createWorkflow(t, ns, "slow", krtv1.Step{Name: "slow", Runtime: "bash", Run: "sleep 60", Timeout: dur(time.Second)})
		manualRun(t, ns, "slow", "slow", nil)
		wr := waitRun(t, ns, "slow", "finish", func(wr *krtv1.WorkflowRun) bool { return wr.Status.Phase.Terminal() })
		if n := node(wr, "slow"); wr.Status.Phase != krtv1.WorkflowFailed || !strings.Contains(n.Message, "timed out") {
			t.Errorf("run %s, node %+v: want Failed with a timeout message", wr.Status.Phase, n)
		}
	})

	t.Run("unknown cluster", func(t *testing.T) {
		createWorkflow(t, ns, "nowhere", krtv1.Step{Name: "there", Cluster: "mars", Runtime: "bash", Run: "echo hi"})
		manualRun(t, ns, "nowhere", "nowhere", nil)
		wr := waitRun(t, ns, "nowhere", "wait for its cluster", func(wr *krtv1.WorkflowRun) bool {
			n := node(wr, "there")
			return n.Phase == krtv1.NodeWaiting && strings.Contains(n.Message, "mars")
		})
		if !hasCondition(wr, "ClusterUnavailable") {
			t.Errorf("no ClusterUnavailable condition: %v", wr.Status.Conditions)
		}
	})
}

func hasCondition(wr *krtv1.WorkflowRun, typ string) bool {
	for _, c := range wr.Status.Conditions {
		if c.Type == typ && c.Status == metav1.ConditionTrue {
			return true
		}
	}
	return false
}
