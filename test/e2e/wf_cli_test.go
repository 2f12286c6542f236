package e2e

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	krtv1 "krt.dev/krt/api/v1alpha1"
	"krt.dev/krt/test/kubetest"
)

// wfAdmin is the user of the test kubeconfig (kubetest's writeKubeconfig),
// as the API server reports it.
const wfAdmin = kubetest.AdminUser

// wfGated is a manual workflow: a bash step with an output, a gate the
// admin decides, and a bash step that echoes the first one's output.
func wfGated() krtv1.WorkflowSpec {
	return krtv1.WorkflowSpec{
		On:     krtv1.Triggers{Manual: &krtv1.ManualTrigger{}},
		Params: []krtv1.Param{{Name: "greeting", Default: ptrTo("hello")}},
		Steps: []krtv1.Step{
			{Name: "first", Runtime: "bash", Run: `echo "msg=${{ params.greeting }} from first" >> "$KRT_OUTPUTS"`},
			{Name: "gate", Needs: []string{"first"}, Approval: &krtv1.ApprovalGate{Approvers: []string{wfAdmin}}},
			{Name: "second", Needs: []string{"gate"}, Runtime: "bash",
				Run: `echo "${{ steps.first.outputs.msg }}"; echo "echoed=${{ steps.first.outputs.msg }}" >> "$KRT_OUTPUTS"`},
		},
	}
}

func ptrTo[T any](v T) *T { return &v }

func createWorkflow(t *testing.T, ns, name string, spec krtv1.WorkflowSpec) {
	t.Helper()
	wf := &krtv1.Workflow{ObjectMeta: objectMeta(ns, name), Spec: spec}
	if err := env.Client.Create(context.Background(), wf); err != nil {
		t.Fatalf("creating workflow: %v", err)
	}
}

// mustKrt runs the CLI and fails the test unless it exits 0.
func mustKrt(t *testing.T, args ...string) string {
	t.Helper()
	stdout, stderr, code := krt(t, args...)
	if code != 0 {
		t.Fatalf("krt %s: exit %d\nstderr: %s", strings.Join(args, " "), code, stderr)
	}
	return stdout
}

// waitWfRun polls a WorkflowRun until cond holds.
func waitWfRun(t *testing.T, ns, name, what string, cond func(*krtv1.WorkflowRun) bool) *krtv1.WorkflowRun {
	t.Helper()
	wr := &krtv1.WorkflowRun{}
	eventually(t, 2*time.Minute, "run "+name+" to "+what, func() bool {
		return env.Client.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: name}, wr) == nil && cond(wr)
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

func gateWaits(wr *krtv1.WorkflowRun) bool { return wfNode(wr, "gate").Phase == krtv1.NodeWaiting }

func ended(wr *krtv1.WorkflowRun) bool { return wr.Status.Phase.Terminal() }

// assertHas fails for each want that out lacks.
func assertHas(t *testing.T, what, out string, wants ...string) {
	t.Helper()
	for _, w := range wants {
		if !strings.Contains(out, w) {
			t.Errorf("%s lacks %q:\n%s", what, w, out)
		}
	}
}

func TestWfCLITriggerApproveGraph(t *testing.T) {
	ns := setupRuntime(t, "bash", 1, 2)
	createWorkflow(t, ns, "greet", wfGated())
	run := strings.TrimSpace(mustKrt(t, "wf", "trigger", "-n", ns, "greet", "--param", "greeting=hi"))
	if !strings.HasPrefix(run, "greet-manual-") {
		t.Fatalf("krt wf trigger printed %q, want the run's name", run)
	}
	wr := waitWfRun(t, ns, run, "wait at the gate", gateWaits)
	if ev := wr.Spec.Event; ev.Type != krtv1.EventManual || ev.Manual == nil || ev.Manual.User != wfAdmin {
		t.Errorf("event = %+v, want manual by %s", ev, wfAdmin)
	}
	graph := mustKrt(t, "wf", "graph", "-n", ns, run)
	assertHas(t, "graph at the gate", graph, run+" (Running)", "✓ first", "⏸ gate", "waiting for approval by admin", "○ second", "needs gate")

	// Someone who may create Approvals but is not among the approvers is
	// told so, rather than left waiting on a decision the engine ignores.
	bob, err := env.UserKubeconfig("wf-bob", "system:masters")
	if err != nil {
		t.Fatal(err)
	}
	_, stderr, code := krt(t, "--kubeconfig", bob, "wf", "approve", "-n", ns, run, "gate")
	if code != 1 || !strings.Contains(stderr, "you (wf-bob) may not decide step gate of run "+run+": its approvers are admin") {
		t.Errorf("a non-approver approving: exit %d, %q", code, stderr)
	}
	out := mustKrt(t, "wf", "approve", "-n", ns, run, "gate", "--comment", "lgtm")
	if want := "approved step gate of run " + run + " as admin\n"; out != want {
		t.Errorf("krt wf approve printed %q, want %q", out, want)
	}
	wr = waitWfRun(t, ns, run, "end", ended)
	if wr.Status.Phase != krtv1.WorkflowSucceeded {
		t.Fatalf("run ended %s: %s", wr.Status.Phase, wr.Status.Message)
	}
	if got := wfNode(wr, "second").Outputs["echoed"]; got != "hi from first" {
		t.Errorf("second echoed %q, want first's output", got)
	}
	graph = mustKrt(t, "wf", "graph", "-n", ns, run)
	lines := strings.Split(strings.TrimSpace(graph), "\n")
	if len(lines) != 4 || !strings.HasPrefix(lines[0], run+" (Succeeded)") {
		t.Fatalf("graph after success =\n%s", graph)
	}
	for _, l := range lines[1:] {
		if !strings.HasPrefix(l, "  ✓ ") {
			t.Errorf("graph line %q is not ✓", l)
		}
	}
	assertHas(t, "graph", graph, "approved by admin")
	assertHas(t, "krt wf runs", mustKrt(t, "wf", "runs", "-n", ns, "greet"), "NAME", run, "greet", "manual (admin)", "Succeeded")
	assertHas(t, "krt wf list", mustKrt(t, "wf", "list", "-n", ns), "TRIGGERS", "greet", "manual", run)

	var fromYAML krtv1.WorkflowRun
	if err := yaml.Unmarshal([]byte(mustKrt(t, "wf", "graph", "-n", ns, run, "-o", "yaml")), &fromYAML); err != nil ||
		fromYAML.Kind != "WorkflowRun" || fromYAML.Name != run {
		t.Errorf("graph -o yaml: %v, kind %q name %q", err, fromYAML.Kind, fromYAML.Name)
	}
	if _, stderr, code := krt(t, "wf", "approve", "-n", ns, run, "gate"); code != 1 || !strings.Contains(stderr, "has already ended (Succeeded)") {
		t.Errorf("approving an ended run: exit %d, %q", code, stderr)
	}
}

// bgKrt is the CLI running while the test acts on what it waits for.
type bgKrt struct {
	cmd      *exec.Cmd
	out, err bytes.Buffer
}

func startKrt(t *testing.T, args ...string) *bgKrt {
	t.Helper()
	b := &bgKrt{cmd: exec.Command(bins.Krt, args...)}
	b.cmd.Env = append(os.Environ(), "KUBECONFIG="+env.Kubeconfig)
	b.cmd.Stdout, b.cmd.Stderr = &b.out, &b.err
	if err := b.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = b.cmd.Process.Kill() })
	return b
}

// wait returns the exit code, once the CLI has ended.
func (b *bgKrt) wait(t *testing.T) int {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- b.cmd.Wait() }()
	select {
	case err := <-done:
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return ee.ExitCode()
		}
		if err != nil {
			t.Fatal(err)
		}
		return 0
	case <-time.After(2 * time.Minute):
		_ = b.cmd.Process.Kill()
		t.Fatalf("krt did not end; stderr so far:\n%s", b.err.String())
		return -1
	}
}

// onlyRun finds the run a background trigger made: the namespace holds
// no other run of the workflow.
func onlyRun(t *testing.T, ns, wf string) string {
	t.Helper()
	name := ""
	eventually(t, time.Minute, "the triggered run to exist", func() bool {
		list := &krtv1.WorkflowRunList{}
		if env.Client.List(context.Background(), list, client.InNamespace(ns), client.MatchingLabels{"krt.dev/workflow": wf}) != nil || len(list.Items) != 1 {
			return false
		}
		name = list.Items[0].Name
		return true
	})
	return name
}

func TestWfCLIRejectFailsTheRun(t *testing.T) {
	ns := setupRuntime(t, "bash", 1, 2)
	createWorkflow(t, ns, "greet", wfGated())
	bg := startKrt(t, "wf", "trigger", "-n", ns, "greet", "--wait")
	run := onlyRun(t, ns, "greet")
	waitWfRun(t, ns, run, "wait at the gate", gateWaits)
	out := mustKrt(t, "wf", "reject", "-n", ns, run, "gate", "-m", "not today")
	if want := "rejected step gate of run " + run + " as admin\n"; out != want {
		t.Errorf("krt wf reject printed %q, want %q", out, want)
	}
	if code := bg.wait(t); code != 1 {
		t.Errorf("trigger --wait exited %d, want 1 for a failed run\nstderr: %s", code, bg.err.String())
	}
	if got := strings.TrimSpace(bg.out.String()); got != run {
		t.Errorf("trigger --wait printed %q on stdout, want %q", got, run)
	}
	assertHas(t, "trigger --wait's progress", bg.err.String(),
		run+": Running, 1/3 nodes done; waiting for approval of gate", run+": Failed, 3/3 nodes done; step gate failed: rejected by admin: not today")
	wr := waitWfRun(t, ns, run, "end", ended)
	if wr.Status.Phase != krtv1.WorkflowFailed {
		t.Errorf("run ended %s, want Failed", wr.Status.Phase)
	}
	assertHas(t, "graph", mustKrt(t, "wf", "graph", "-n", ns, run), "✓ first", "✗ gate", "rejected by admin: not today", "– second")
}

func TestWfCLICancelWhileWaiting(t *testing.T) {
	ns := setupRuntime(t, "bash", 1, 2)
	createWorkflow(t, ns, "greet", wfGated())
	bg := startKrt(t, "wf", "trigger", "-n", ns, "greet", "--wait")
	run := onlyRun(t, ns, "greet")
	waitWfRun(t, ns, run, "wait at the gate", gateWaits)
	assertHas(t, "krt wf cancel", mustKrt(t, "wf", "cancel", "-n", ns, run), "workflowrun.krt.dev/"+run+" cancel requested")
	if code := bg.wait(t); code != 130 {
		t.Errorf("trigger --wait exited %d, want 130 for a cancelled run\nstderr: %s", code, bg.err.String())
	}
	assertHas(t, "graph", mustKrt(t, "wf", "graph", "-n", ns, run), run+" (Cancelled)", "⊘ gate", "○ second")
	assertHas(t, "cancelling again", mustKrt(t, "wf", "cancel", "-n", ns, run), "already cancelled")
}

func TestWfCLIErrors(t *testing.T) {
	ns := env.Namespace(t)
	createWorkflow(t, ns, "greet", wfGated())
	noManual := wfGated()
	noManual.On = krtv1.Triggers{Push: &krtv1.PushTrigger{}}
	createWorkflow(t, ns, "pushed", noManual)
	// No Runtime in this namespace: the run stays with its first step.
	run := strings.TrimSpace(mustKrt(t, "wf", "trigger", "-n", ns, "greet"))
	waitWfRun(t, ns, run, "start", func(wr *krtv1.WorkflowRun) bool { return len(wr.Status.Nodes) > 0 })
	cases := []struct {
		name string
		args []string
		want string
	}{
		{"no manual trigger", []string{"trigger", "pushed"}, "workflow pushed has no manual trigger; add `on: {manual: {}}`"},
		{"unknown param", []string{"trigger", "greet", "--param", "greting=x"}, `workflow greet has no param "greting"; its params are greeting`},
		{"no such workflow", []string{"trigger", "nope"}, `workflow "nope" not found`},
		{"no such run", []string{"approve", "nope", "gate"}, `workflow run "nope" not found`},
		{"not an approval step", []string{"approve", run, "first"}, "step first of run " + run + " is not an approval step; its approval steps are gate"},
		{"gate not open", []string{"approve", run, "gate"}, "step gate of run " + run + " is not waiting for approval yet: it needs first"},
		{"no step and nothing waits", []string{"reject", run}, "run " + run + " is not waiting for an approval"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, stderr, code := krt(t, append([]string{"wf", "-n", ns}, tc.args...)...)
			if code != 1 || !strings.Contains(stderr, tc.want) {
				t.Errorf("exit %d, stderr %q; want 1 and %q", code, stderr, tc.want)
			}
		})
	}
	list := &krtv1.ApprovalList{}
	if err := env.Client.List(context.Background(), list, client.InNamespace(ns)); err != nil || len(list.Items) != 0 {
		t.Errorf("refused decisions left Approvals: %v %v", err, list.Items)
	}
}
