package workflow

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/fluxcd/pkg/runtime/conditions"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	krtv1 "krt.dev/krt/api/v1alpha1"
	"krt.dev/krt/test/kubetest"
)

func TestChainOutputsFlow(t *testing.T) {
	ns := env.Namespace(t)
	wr := newRun(t, ns, "chain", krtv1.WorkflowSpec{Steps: []krtv1.Step{
		{Name: "a", Runtime: "bash", Run: "echo x=1 >> $KRT_OUTPUTS"},
		{Name: "b", Needs: []string{"a"}, Runtime: "bash", Run: "echo y=$X", Env: map[string]string{"X": "${{ steps.a.outputs.x }}"}},
		{Name: "c", Needs: []string{"b"}, Runtime: "bash", Run: "echo ${{ steps.b.outputs.y }} ${{ run.name }}"},
	}}, nil)
	a := waitRunOf(t, ns, wr, "a")
	if a.Labels[krtv1.LabelNode] != "a" || a.Annotations[krtv1.AnnotationOrigin] != ns+"/chain" ||
		len(a.OwnerReferences) != 1 || a.OwnerReferences[0].Name != "chain" {
		t.Errorf("Run a carries labels %v, annotations %v, owners %v", a.Labels, a.Annotations, a.OwnerReferences)
	}
	finish(t, a, krtv1.RunSucceeded, map[string]string{"x": "one"}, "")
	b := waitRunOf(t, ns, wr, "b")
	if got := envOf(b, "X"); got != "one" {
		t.Errorf("b's X = %q, want a's output", got)
	}
	finish(t, b, krtv1.RunSucceeded, map[string]string{"y": "two"}, "")
	c := waitRunOf(t, ns, wr, "c")
	// Values reach a script as environment variables, never as its text.
	if c.Spec.Script != "echo ${KRT_EXPR_1} ${KRT_EXPR_2}" || envOf(c, "KRT_EXPR_1") != "two" || envOf(c, "KRT_EXPR_2") != "chain" {
		t.Errorf("c's script = %q, env %v", c.Spec.Script, c.Spec.Env)
	}
	finish(t, c, krtv1.RunSucceeded, nil, "")
	got := waitPhase(t, wr, krtv1.WorkflowSucceeded)
	if !conditions.IsTrue(got, krtv1.ConditionReady) || got.Status.CompletionTime == nil {
		t.Errorf("a succeeded run: %+v", got.Status)
	}
	if n := got.Status.Nodes[0]; n.Outputs["x"] != "one" || n.Run != a.Name || n.Attempt != 1 {
		t.Errorf("node a = %+v", n)
	}
}

func TestIfFalseSkips(t *testing.T) {
	ns := env.Namespace(t)
	wr := newRun(t, ns, "skips", krtv1.WorkflowSpec{
		Params: []krtv1.Param{{Name: "go", Default: ptr("yes")}},
		Steps: []krtv1.Step{
			{Name: "gated", If: "params.go == 'yes'", Runtime: "bash", Run: "true"},
			{Name: "after", Needs: []string{"gated"}, Runtime: "bash", Run: "true"},
			{Name: "anyway", Needs: []string{"gated"}, If: "steps.gated.status == 'skipped'", Runtime: "bash", Run: "true"},
		}}, map[string]string{"go": "no"})
	waitNode(t, wr, "gated", krtv1.NodeSkipped, "if was false")
	waitNode(t, wr, "after", krtv1.NodeSkipped, "needs gated, which was skipped")
	finish(t, waitRunOf(t, ns, wr, "anyway"), krtv1.RunSucceeded, nil, "")
	waitPhase(t, wr, krtv1.WorkflowSucceeded)
}

func TestFailFastAndFinally(t *testing.T) {
	ns := env.Namespace(t)
	wr := newRun(t, ns, "failfast", krtv1.WorkflowSpec{
		Steps: []krtv1.Step{
			{Name: "a", Runtime: "bash", Run: "exit 1"},
			{Name: "slow", Runtime: "bash", Run: "sleep 1"},
			{Name: "next", Needs: []string{"a"}, Runtime: "bash", Run: "true"},
			{Name: "later", Needs: []string{"slow"}, Runtime: "bash", Run: "true"},
		},
		Finally: []krtv1.Step{{Name: "notify", Runtime: "bash", Run: "echo ${{ run.phase }}"}},
	}, nil)
	finish(t, waitRunOf(t, ns, wr, "a"), krtv1.RunTimeout, nil, "timed out after 5s")
	waitNode(t, wr, "next", krtv1.NodeSkipped, "not started: the run failed at step a")
	// The running step finishes, but nothing new starts after it.
	waitNode(t, wr, "slow", krtv1.NodeRunning, "")
	finish(t, waitRunOf(t, ns, wr, "slow"), krtv1.RunSucceeded, nil, "")
	waitNode(t, wr, "later", krtv1.NodeSkipped, "not started: the run failed at step a")
	notify := waitRunOf(t, ns, wr, "notify")
	if got := envOf(notify, "KRT_EXPR_1"); got != "Failed" || notify.Spec.Script != "echo ${KRT_EXPR_1}" {
		t.Errorf("finally saw run.phase as %q (script %q)", got, notify.Spec.Script)
	}
	finish(t, notify, krtv1.RunSucceeded, nil, "")
	got := waitPhase(t, wr, krtv1.WorkflowFailed)
	if !strings.Contains(got.Status.Message, "step a failed: timed out after 5s") {
		t.Errorf("message = %q", got.Status.Message)
	}
	if !conditions.IsFalse(got, krtv1.ConditionReady) || !conditions.IsTrue(got, krtv1.ConditionStalled) {
		t.Errorf("conditions = %+v", got.Status.Conditions)
	}
}

func TestForEach(t *testing.T) {
	ns := env.Namespace(t)
	wr := newRun(t, ns, "foreach", krtv1.WorkflowSpec{Steps: []krtv1.Step{
		{Name: "deploy", ForEach: &krtv1.ForEach{Items: []string{"eu", "us"}}, Runtime: "bash",
			Run: "echo $R", Env: map[string]string{"R": "${{ item }}"}},
	}}, nil)
	for _, item := range []string{"eu", "us"} {
		run := waitRunOf(t, ns, wr, "deploy["+item+"]")
		if envOf(run, "R") != item || run.Labels[krtv1.LabelNode] != "deploy_"+item {
			t.Errorf("Run for %s: env %v, labels %v", item, run.Spec.Env, run.Labels)
		}
		finish(t, run, krtv1.RunSucceeded, nil, "")
	}
	waitPhase(t, wr, krtv1.WorkflowSucceeded)
}

// A matrix too large for one run's status fails its step, with no Runs,
// instead of leaving a status the API server refuses.
func TestTooManyNodes(t *testing.T) {
	ns := env.Namespace(t)
	var xs []string
	for i := range 70 {
		xs = append(xs, fmt.Sprint(i))
	}
	wr := newRun(t, ns, "huge", krtv1.WorkflowSpec{Steps: []krtv1.Step{
		{Name: "grid", Matrix: map[string][]string{"x": xs, "y": xs}, Runtime: "bash", Run: "true"},
	}}, nil)
	waitNode(t, wr, "grid", krtv1.NodeFailed, "expands to 4900 nodes")
	waitPhase(t, wr, krtv1.WorkflowFailed)
	runs := &krtv1.RunList{}
	if err := env.Client.List(context.Background(), runs, client.InNamespace(ns)); err != nil || len(runs.Items) != 0 {
		t.Errorf("%d Runs (%v), want none", len(runs.Items), err)
	}
}

func TestApproval(t *testing.T) {
	ns := env.Namespace(t)
	wr := newRun(t, ns, "gated", krtv1.WorkflowSpec{Steps: []krtv1.Step{
		{Name: "approve-prod", Approval: &krtv1.ApprovalGate{Approvers: []string{"group:release-managers"}}},
		{Name: "deploy", Needs: []string{"approve-prod"}, Runtime: "bash", Run: "true"},
	}}, nil)
	waitNode(t, wr, "approve-prod", krtv1.NodeWaiting, "waiting for approval by group:release-managers")
	decide := func(user string, groups ...string) {
		a := &krtv1.Approval{ObjectMeta: metav1.ObjectMeta{Namespace: ns, GenerateName: user + "-"},
			Spec: krtv1.ApprovalSpec{WorkflowRun: wr.Name, WorkflowRunUID: wr.UID, Step: "approve-prod", Decision: "approve", User: user, Groups: groups}}
		if err := approver(t, user, groups...).Create(context.Background(), a); err != nil {
			t.Fatal(err)
		}
	}
	decide("mallory")
	waitNode(t, wr, "approve-prod", krtv1.NodeWaiting, "ignored the decision of mallory")
	decide("alice", "release-managers")
	n := waitNode(t, wr, "approve-prod", krtv1.NodeSucceeded, "approved by alice")
	if n.ApprovedBy != "alice" {
		t.Errorf("approvedBy = %q", n.ApprovedBy)
	}
	finish(t, waitRunOf(t, ns, wr, "deploy"), krtv1.RunSucceeded, nil, "")
	waitPhase(t, wr, krtv1.WorkflowSucceeded)
}

func TestApprovalTimeout(t *testing.T) {
	ns := env.Namespace(t)
	wr := newRun(t, ns, "timeout", krtv1.WorkflowSpec{Steps: []krtv1.Step{
		{Name: "gate", Approval: &krtv1.ApprovalGate{Approvers: []string{"alice"}, Timeout: &metav1.Duration{Duration: 2 * time.Second}}},
	}}, nil)
	waitNode(t, wr, "gate", krtv1.NodeWaiting, "waiting for approval by alice")
	waitNode(t, wr, "gate", krtv1.NodeFailed, "approval timed out after 2s")
	waitPhase(t, wr, krtv1.WorkflowFailed)
}

func TestCancel(t *testing.T) {
	ns := env.Namespace(t)
	wr := newRun(t, ns, "cancel", krtv1.WorkflowSpec{Steps: []krtv1.Step{
		{Name: "long", Runtime: "bash", Run: "sleep 600"},
		{Name: "after", Needs: []string{"long"}, Runtime: "bash", Run: "true"},
	}}, nil)
	run := waitRunOf(t, ns, wr, "long")
	patch := client.MergeFrom(wr.DeepCopy())
	wr.Spec.CancelRequested, wr.Spec.CancelledBy = true, kubetest.AdminUser
	if err := env.Client.Patch(context.Background(), wr, patch); err != nil {
		t.Fatal(err)
	}
	got := waitPhase(t, wr, krtv1.WorkflowCancelled)
	if got.Status.Nodes[0].Phase != krtv1.NodeCancelled || got.Status.CompletionTime == nil {
		t.Errorf("status = %+v", got.Status)
	}
	eventually(t, "the Run to be asked to cancel", func() (bool, string) {
		err := env.Client.Get(context.Background(), client.ObjectKeyFromObject(run), run)
		return err == nil && run.Spec.CancelRequested, "not yet"
	})
}

func TestMissingCluster(t *testing.T) {
	ns := env.Namespace(t)
	wr := newRun(t, ns, "nocluster", krtv1.WorkflowSpec{Steps: []krtv1.Step{
		{Name: "remote", Cluster: "nowhere", Runtime: "bash", Run: "true"},
	}}, nil)
	n := waitNode(t, wr, "remote", krtv1.NodeWaiting, "cluster nowhere: there is no Cluster nowhere")
	if n.NextTry == nil || n.Run != "" {
		t.Errorf("node = %+v", n)
	}
	got := &krtv1.WorkflowRun{}
	eventually(t, "the ClusterUnavailable condition", func() (bool, string) {
		_ = env.Client.Get(context.Background(), client.ObjectKeyFromObject(wr), got)
		return conditions.IsTrue(got, ConditionClusterUnavailable), describe(got)
	})
	// A Cluster that exists but is not connected is waited for as well.
	cl := &krtv1.Cluster{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "nowhere"},
		Spec: krtv1.ClusterSpec{KubeconfigSecretRef: krtv1.SecretKeySelector{Name: "missing", Key: "kubeconfig"}}}
	if err := env.Client.Create(context.Background(), cl); err != nil {
		t.Fatal(err)
	}
	waitNode(t, wr, "remote", krtv1.NodeWaiting, "is not connected")
}

func TestCostBudget(t *testing.T) {
	ns := env.Namespace(t)
	list := "[" + strings.TrimSuffix(strings.Repeat("1,", 20), ",") + "]"
	costly := "size(" + list + ".map(x, " + list + ".map(y, " + list + ".map(z, z)))) > 0"
	wr := newRun(t, ns, "costly", krtv1.WorkflowSpec{Steps: []krtv1.Step{
		{Name: "greedy", If: costly, Runtime: "bash", Run: "true"},
	}}, nil)
	waitNode(t, wr, "greedy", krtv1.NodeFailed, "exceeded its cost budget")
	got := waitPhase(t, wr, krtv1.WorkflowFailed)
	if !strings.Contains(got.Status.Message, "step greedy failed") {
		t.Errorf("message = %q", got.Status.Message)
	}
}

// TestRemoteCluster points a Cluster at the test's own API server, with
// another namespace for its Runs: the Run is made and read through the
// registry's connection, not the hub's client.
func TestRemoteCluster(t *testing.T) {
	ns, remoteNS := env.Namespace(t), env.Namespace(t)
	kubeconfig, err := os.ReadFile(env.Kubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	secret := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "self-kubeconfig"},
		Data: map[string][]byte{"kubeconfig": kubeconfig}}
	cl := &krtv1.Cluster{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "self"}, Spec: krtv1.ClusterSpec{
		KubeconfigSecretRef: krtv1.SecretKeySelector{Name: secret.Name, Key: "kubeconfig"}, Namespace: remoteNS}}
	for _, o := range []client.Object{secret, cl} {
		if err := env.Client.Create(ctx, o); err != nil {
			t.Fatal(err)
		}
	}
	wr := newRun(t, ns, "remote", krtv1.WorkflowSpec{Steps: []krtv1.Step{
		{Name: "there", Runtime: "${{ 'se' + 'lf' }}/bash", Run: "true"},
	}}, nil)
	run := waitRunOf(t, remoteNS, wr, "there")
	if len(run.OwnerReferences) != 0 || run.Annotations[krtv1.AnnotationOrigin] != ns+"/remote" || run.Spec.Runtime != "bash" {
		t.Errorf("remote Run: owners %v, annotations %v, runtime %q", run.OwnerReferences, run.Annotations, run.Spec.Runtime)
	}
	finish(t, run, krtv1.RunSucceeded, map[string]string{"where": "remote"}, "")
	got := waitPhase(t, wr, krtv1.WorkflowSucceeded)
	if n := got.Status.Nodes[0]; n.Cluster != "self" || n.Outputs["where"] != "remote" {
		t.Errorf("node = %+v", n)
	}
	if conditions.Has(got, ConditionClusterUnavailable) {
		t.Errorf("ClusterUnavailable stayed after the cluster came: %+v", got.Status.Conditions)
	}
}

// TestLostStatusAdoptsRuns forgets a run's nodes, as a status written from
// a stale cache or a restore might: the Run, named by a hash of the node,
// is found again rather than made twice.
func TestLostStatusAdoptsRuns(t *testing.T) {
	ns := env.Namespace(t)
	wr := newRun(t, ns, "adopt", krtv1.WorkflowSpec{Steps: []krtv1.Step{
		{Name: "a", Runtime: "bash", Run: "true"},
		{Name: "b", Needs: []string{"a"}, Runtime: "bash", Run: "echo ${{ steps.a.outputs.x }}"},
	}}, nil)
	a := waitRunOf(t, ns, wr, "a")
	waitNode(t, wr, "a", krtv1.NodeRunning, "")
	forget := client.RawPatch(types.MergePatchType, []byte(`{"status":{"nodes":null}}`))
	if err := env.Client.Status().Patch(context.Background(), wr, forget); err != nil {
		t.Fatal(err)
	}
	finish(t, a, krtv1.RunSucceeded, map[string]string{"x": "kept"}, "")
	b := waitRunOf(t, ns, wr, "b")
	if got := envOf(b, "KRT_EXPR_1"); got != "kept" {
		t.Errorf("b's output value = %q (script %q)", got, b.Spec.Script)
	}
	list := &krtv1.RunList{}
	if err := env.Client.List(context.Background(), list, client.InNamespace(ns), client.MatchingLabels{krtv1.LabelNode: "a"}); err != nil {
		t.Fatal(err)
	}
	if len(list.Items) != 1 {
		t.Errorf("%d Runs for node a, want 1", len(list.Items))
	}
	finish(t, b, krtv1.RunSucceeded, nil, "")
	waitPhase(t, wr, krtv1.WorkflowSucceeded)
}
