package security

import (
	"context"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"sigs.k8s.io/controller-runtime/pkg/client"

	krtv1 "krt.dev/krt/api/v1alpha1"
)

// Two users, each authenticated by a client certificate, act on one run
// through the real CLI: alice triggers it, bob approves its gate, and
// alice cancels it. `krt wf history` must name each of them for their
// own action, as must the run's Events and the controller's audit log.
// bob's rerun of it starts a run whose history names him.
func TestAuditTrailNamesWhoDidWhat(t *testing.T) {
	ctx := context.Background()
	ns := env.Namespace(t)
	alice, bob := auditUser(t, ns, "alice"), auditUser(t, ns, "bob")
	wf := &krtv1.Workflow{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "release"},
		Spec: krtv1.WorkflowSpec{On: krtv1.Triggers{Manual: &krtv1.ManualTrigger{}}, Steps: []krtv1.Step{
			{Name: "sign-off", Approval: &krtv1.ApprovalGate{Approvers: []string{"bob"}}},
			{Name: "ship", Needs: []string{"sign-off"}, Approval: &krtv1.ApprovalGate{Approvers: []string{"carol"}}}}}}
	if err := env.Client.Create(ctx, wf); err != nil {
		t.Fatal(err)
	}

	out, code := runKrtCLIAs(t, alice, "wf", "trigger", "release", "-n", ns)
	if code != 0 {
		t.Fatalf("alice's krt wf trigger: exit %d:\n%s", code, out)
	}
	name := strings.TrimSpace(out)
	wr := &krtv1.WorkflowRun{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}}
	waitNode(t, wr, "sign-off", krtv1.NodeWaiting)
	if out, code := runKrtCLIAs(t, bob, "wf", "approve", name, "sign-off", "-n", ns, "-m", "looks good"); code != 0 {
		t.Fatalf("bob's krt wf approve: exit %d:\n%s", code, out)
	}
	waitNode(t, wr, "ship", krtv1.NodeWaiting)
	if out, code := runKrtCLIAs(t, alice, "wf", "cancel", name, "-n", ns); code != 0 {
		t.Fatalf("alice's krt wf cancel: exit %d:\n%s", code, out)
	}
	eventually(t, time.Minute, name+" to be cancelled, with 3 history entries", func() bool {
		return env.Client.Get(ctx, client.ObjectKeyFromObject(wr), wr) == nil &&
			wr.Status.Phase == krtv1.WorkflowCancelled && len(wr.Status.History) == 3
	})

	out, code = runKrtCLIAs(t, bob, "wf", "history", name, "-n", ns)
	t.Logf("krt wf history %s:\n%s", name, out)
	if code != 0 {
		t.Fatalf("krt wf history: exit %d", code)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	want := []*regexp.Regexp{
		regexp.MustCompile(`^TIME\s+ACTION\s+USER\s+DETAIL$`),
		regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ\s+trigger\s+alice\s+manual$`),
		regexp.MustCompile(`^\S+\s+approve\s+bob\s+step sign-off: looks good$`),
		regexp.MustCompile(`^\S+\s+cancel\s+alice\s+-$`),
	}
	if len(lines) != len(want) {
		t.Fatalf("krt wf history printed %d lines, want %d", len(lines), len(want))
	}
	for i, re := range want {
		if !re.MatchString(lines[i]) {
			t.Errorf("line %d %q, want it to match %s", i, lines[i], re)
		}
	}

	// bob runs it again: the new run's trail starts with his rerun.
	out, code = runKrtCLIAs(t, bob, "wf", "rerun", name, "-n", ns)
	if code != 0 {
		t.Fatalf("bob's krt wf rerun: exit %d:\n%s", code, out)
	}
	again := &krtv1.WorkflowRun{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: strings.TrimSpace(out)}}
	waitNode(t, again, "sign-off", krtv1.NodeWaiting)
	out, _ = runKrtCLIAs(t, alice, "wf", "history", again.Name, "-n", ns)
	if !regexp.MustCompile(`(?m)^\S+\s+rerun\s+bob\s+of ` + regexp.QuoteMeta(name) + `; manual$`).MatchString(out) {
		t.Errorf("krt wf history %s does not show bob's rerun of %s:\n%s", again.Name, name, out)
	}

	// The same trail as Events on the run, and as audit log lines.
	for reason, msg := range map[string]string{"Triggered": "trigger by alice", "Approved": "approve by bob",
		"CancelRequested": "cancel by alice"} {
		eventually(t, 30*time.Second, "a "+reason+" Event saying "+msg, func() bool {
			return hasEvent(ctx, ns, name, reason, msg)
		})
	}
	logs, err := os.ReadFile(stack.Controller.Log)
	if err != nil {
		t.Fatal(err)
	}
	// One line per action, however many passes saw it.
	for action, user := range map[string]string{"trigger": "alice", "approve": "bob", "cancel": "alice"} {
		line := regexp.MustCompile(`"msg":"audit".*"action":"` + action + `","user":"` + user + `","workflowRun":"` +
			regexp.QuoteMeta(name) + `","namespace":"` + ns + `"`)
		if n := len(line.FindAll(logs, -1)); n != 1 {
			t.Errorf("%d audit log lines of %s's %s of %s in the controller's log, want 1", n, user, action, name)
		}
	}
}

// A user whom RBAC lets create and cancel runs writes someone else's
// name as the run's creator or as its canceller, or cancels without a
// name. The admission policy config/policy/workflowrun-audit.yaml must
// refuse each, and the CRD must keep a canceller once recorded; her own
// name is admitted, so the refusals are the policy's and not RBAC's.
func TestAuditTrailRefusesForgedNames(t *testing.T) {
	ctx := context.Background()
	ns := env.Namespace(t)
	mallory := certUser(t, "mallory")
	grant(t, mallory, ns, "run-starter", "mallory", []rbacv1.PolicyRule{{APIGroups: []string{krtv1.GroupVersion.Group},
		Resources: []string{"workflowruns"}, Verbs: []string{"get", "list", "create", "patch"}}}, &krtv1.WorkflowRunList{})
	run := func(name, triggeredBy string) *krtv1.WorkflowRun {
		return &krtv1.WorkflowRun{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
			Spec: krtv1.WorkflowRunSpec{Workflow: "deploy", TriggeredBy: triggeredBy,
				Event: krtv1.WorkflowEvent{Type: krtv1.EventManual, Manual: &krtv1.ManualEvent{User: "mallory"}},
				Definition: krtv1.WorkflowSpec{Steps: []krtv1.Step{
					{Name: "wait", Approval: &krtv1.ApprovalGate{Approvers: []string{"alice"}}}}}}}
	}
	const asAlice = "spec.triggeredBy must be the name of whoever creates the run, mallory, not alice"
	var err error
	_ = wait.PollUntilContextTimeout(ctx, 50*time.Millisecond, 30*time.Second, true, func(context.Context) (bool, error) {
		err = mallory.Create(ctx, run("probe", "alice"), client.DryRunAll)
		return err != nil && strings.Contains(err.Error(), asAlice), nil
	})
	refused(t, err, asAlice)

	own := run("mallorys", "mallory")
	if err := mallory.Create(ctx, own); err != nil {
		t.Fatalf("mallory's run in her own name: %v", err)
	}
	cancel := func(by string) error {
		cur := &krtv1.WorkflowRun{}
		if err := mallory.Get(ctx, client.ObjectKeyFromObject(own), cur); err != nil {
			return err
		}
		base := cur.DeepCopy()
		cur.Spec.CancelRequested, cur.Spec.CancelledBy = true, by
		return mallory.Patch(ctx, cur, client.MergeFrom(base))
	}
	t.Run("cancelled in alice's name", func(t *testing.T) {
		refused(t, cancel("alice"), "spec.cancelledBy must be the name of whoever cancels the run, mallory, not alice")
	})
	t.Run("cancelled in no one's name", func(t *testing.T) {
		refused(t, cancel(""), "a cancel must name its author: set spec.cancelledBy to mallory")
	})
	// A canceller named without a cancel would leave a run nobody else
	// could cancel, since the name cannot change once set.
	const nameWithoutCancel = "spec.cancelledBy may only be set together with spec.cancelRequested"
	t.Run("canceller named without a cancel, on create", func(t *testing.T) {
		r := run("uncancellable", "mallory")
		r.Spec.CancelledBy = "mallory"
		refused(t, mallory.Create(ctx, r), nameWithoutCancel)
	})
	t.Run("canceller named without a cancel, by a patch", func(t *testing.T) {
		cur := &krtv1.WorkflowRun{}
		if err := mallory.Get(ctx, client.ObjectKeyFromObject(own), cur); err != nil {
			t.Fatal(err)
		}
		base := cur.DeepCopy()
		cur.Spec.CancelledBy = "mallory"
		refused(t, mallory.Patch(ctx, cur, client.MergeFrom(base)), nameWithoutCancel)
	})
	if err := cancel("mallory"); err != nil {
		t.Fatalf("mallory cancelling in her own name: %v", err)
	}
	t.Run("canceller renamed afterwards", func(t *testing.T) {
		cur := &krtv1.WorkflowRun{}
		if err := env.Client.Get(ctx, client.ObjectKeyFromObject(own), cur); err != nil {
			t.Fatal(err)
		}
		base := cur.DeepCopy()
		cur.Spec.CancelledBy = "admin"
		// Refused twice over: krt-workflowrun-spec keeps a canceller once
		// set, and krt-workflowrun-audit wants a cancel in the writer's
		// name; the API server names whichever it evaluated first.
		err := env.Client.Patch(ctx, cur, client.MergeFrom(base))
		kept := apierrors.IsInvalid(err) && strings.Contains(err.Error(), "spec.cancelledBy cannot be changed once set")
		audited := apierrors.IsForbidden(err) && strings.Contains(err.Error(), nameWithoutCancel)
		if !kept && !audited {
			t.Errorf("the admin renaming mallory's cancel: %v; want it refused", err)
		}
	})
	eventually(t, time.Minute, "the history to name mallory for the trigger and the cancel", func() bool {
		cur := &krtv1.WorkflowRun{}
		if env.Client.Get(ctx, client.ObjectKeyFromObject(own), cur) != nil || len(cur.Status.History) != 2 {
			return false
		}
		h := cur.Status.History
		return h[0].Action == krtv1.AuditTrigger && h[0].User == "mallory" && h[1].Action == krtv1.AuditCancel && h[1].User == "mallory"
	})
}

// auditUser writes a kubeconfig with a client certificate for user, whom
// a Role in ns lets trigger, approve and cancel runs, as the CLI needs.
func auditUser(t *testing.T, ns, user string) string {
	t.Helper()
	kubeconfig, err := env.UserKubeconfig(user)
	if err != nil {
		t.Fatal(err)
	}
	grant(t, certUser(t, user), ns, "run-operator", user, []rbacv1.PolicyRule{
		{APIGroups: []string{krtv1.GroupVersion.Group}, Resources: []string{"workflowruns"}, Verbs: []string{"get", "list", "create", "patch"}},
		{APIGroups: []string{krtv1.GroupVersion.Group}, Resources: []string{"workflows", "tools"}, Verbs: []string{"get", "list"}},
		{APIGroups: []string{krtv1.GroupVersion.Group}, Resources: []string{"approvals"}, Verbs: []string{"create"}},
	}, &krtv1.WorkflowRunList{})
	return kubeconfig
}

func waitNode(t *testing.T, wr *krtv1.WorkflowRun, node string, phase krtv1.NodePhase) {
	t.Helper()
	eventually(t, time.Minute, "node "+node+" of "+wr.Name+" to be "+string(phase), func() bool {
		if env.Client.Get(context.Background(), client.ObjectKeyFromObject(wr), wr) != nil {
			return false
		}
		for _, n := range wr.Status.Nodes {
			if n.Name == node && n.Phase == phase {
				return true
			}
		}
		return false
	})
}

func hasEvent(ctx context.Context, ns, run, reason, msg string) bool {
	list := &corev1.EventList{}
	if env.Client.List(ctx, list, client.InNamespace(ns)) != nil {
		return false
	}
	for _, e := range list.Items {
		if e.InvolvedObject.Name == run && e.Reason == reason && strings.Contains(e.Message, msg) {
			return true
		}
	}
	return false
}
