package promote

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"sigs.k8s.io/controller-runtime/pkg/client"

	krtv1 "krt.dev/krt/api/v1alpha1"
)

// Killing the hub's krt-controller (SIGKILL, twice) in the middle of a run
// that spans two clusters loses and duplicates nothing. The first kill
// comes while a step runs, and that step finishes while no controller is
// up; the second comes while a fan-out runs in staging. Every step writes
// its Run's name to a ledger: each must be there exactly once, every node
// must be on its first attempt, and outputs must still flow.
func TestControllerRestartMidRun(t *testing.T) {
	ns := hub.env.Namespace(t)
	runtime(t, hub, ns, "bash")
	namespace(t, staging, "staging-restart")
	runtime(t, staging, "staging-restart", "deployer")
	register(t, ns, "staging", staging, "staging-restart")

	dir := t.TempDir()
	ledger, gate, fanGate := filepath.Join(dir, "ledger"), filepath.Join(dir, "gate"), filepath.Join(dir, "fan-gate")
	record := fmt.Sprintf(`echo "$KRT_RUN" >> %q; `, ledger)
	waitFor := func(f string) string { return fmt.Sprintf(`until [ -e %q ]; do sleep 0.05; done; `, f) }
	createWorkflow(t, ns, "restart",
		krtv1.Step{Name: "build", Runtime: "bash", Run: record + `echo "version=1.2.3" >> "$KRT_OUTPUTS"`},
		krtv1.Step{Name: "hold", Needs: []string{"build"}, Runtime: "bash", Run: record + waitFor(gate)},
		krtv1.Step{Name: "deploy", Needs: []string{"hold"}, Cluster: "staging", Runtime: "deployer",
			ForEach: &krtv1.ForEach{Items: []string{"a", "b", "c"}},
			Run:     record + waitFor(fanGate) + `echo "deployed=${{ steps.build.outputs.version }}-${{ item }}" >> "$KRT_OUTPUTS"`},
		krtv1.Step{Name: "report", Needs: []string{"deploy"}, Runtime: "bash",
			Run: record + `echo "report=${{ steps.build.outputs.version }}" >> "$KRT_OUTPUTS"`},
	)
	manualRun(t, ns, "restart", "restart", nil)

	waitRun(t, ns, "restart", "run hold", func(wr *krtv1.WorkflowRun) bool { return node(wr, "hold").Phase == krtv1.NodeRunning })
	hub.stack.Controller.Kill()
	touch(t, gate)
	// hold finishes on its own; the Run says so, with no controller up.
	waitRunObject(t, ns, "restart", "hold", krtv1.RunSucceeded)
	restartController(t)

	waitRun(t, ns, "restart", "run the fan-out", func(wr *krtv1.WorkflowRun) bool {
		return node(wr, "deploy[a]").Phase == krtv1.NodeRunning && node(wr, "deploy[c]").Phase == krtv1.NodeRunning
	})
	hub.stack.Controller.Kill()
	touch(t, fanGate)
	restartController(t)

	wr := waitRun(t, ns, "restart", "finish", func(wr *krtv1.WorkflowRun) bool { return wr.Status.Phase.Terminal() })
	if wr.Status.Phase != krtv1.WorkflowSucceeded {
		t.Fatalf("run ended %s: %s", wr.Status.Phase, describe(wr))
	}
	checkOnce(t, wr, ledger)
	checkRestartedTrace(t, ns, "restart", "hold", "deploy[a]", "deploy[b]", "deploy[c]", "report")
	if got := node(wr, "deploy[b]").Outputs["deployed"]; got != "1.2.3-b" {
		t.Errorf("deploy[b] output %q, want 1.2.3-b", got)
	}
	if got := node(wr, "report").Outputs["report"]; got != "1.2.3" {
		t.Errorf("report output %q, want 1.2.3", got)
	}
}

// checkOnce asserts that every node ran once: one ledger line per node's
// Run, nothing else in the ledger, and every node on attempt 1.
func checkOnce(t *testing.T, wr *krtv1.WorkflowRun, ledger string) {
	t.Helper()
	data, err := os.ReadFile(ledger)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Fields(string(data))
	var want []string
	for _, n := range wr.Status.Nodes {
		want = append(want, n.Run)
		if n.Attempt != 1 {
			t.Errorf("node %s ran on attempt %d, want 1", n.Name, n.Attempt)
		}
	}
	slices.Sort(lines)
	slices.Sort(want)
	if !slices.Equal(lines, want) {
		t.Errorf("the steps that ran (%v) are not the run's nodes, once each (%v)", lines, want)
	}
}

// waitRunObject waits for the hub Run of a node to reach phase.
func waitRunObject(t *testing.T, ns, wrName, nodeName string, phase krtv1.RunPhase) {
	t.Helper()
	eventually(t, time.Minute, "the Run of "+nodeName+" to be "+string(phase), func() (bool, string) {
		list := &krtv1.RunList{}
		err := hub.env.Client.List(context.Background(), list, client.InNamespace(ns),
			client.MatchingLabels{krtv1.LabelWorkflowRun: wrName, krtv1.LabelNode: nodeName})
		if err != nil || len(list.Items) != 1 {
			return false, fmt.Sprintf("%d Runs, %v", len(list.Items), err)
		}
		return list.Items[0].Status.Phase == phase, string(list.Items[0].Status.Phase)
	})
}

func restartController(t *testing.T) {
	t.Helper()
	if err := hub.stack.StartController(hubArgs...); err != nil {
		t.Fatal(err)
	}
}

func touch(t *testing.T, path string) {
	t.Helper()
	if err := os.WriteFile(path, nil, 0o644); err != nil {
		t.Fatal(err)
	}
}
