package security

import (
	"context"
	"strings"
	"testing"
	"time"

	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/controller-runtime/pkg/client"

	krtv1 "krt.dev/krt/api/v1alpha1"
)

// A tenant whom RBAC lets start and cancel WorkflowRuns starts a manual
// run in someone else's name: `krt wf trigger` fills in the caller's
// name, but nothing stops a client from writing another. The admission
// policy config/policy/manual-trigger-identity.yaml must refuse it, and a
// run naming nobody, and a rename after admission; her run in her own
// name is admitted, so the refusals are the policy's and not RBAC's.
// Another user may still cancel her run (the name stays hers), and
// krt-controller's ServiceAccount may name whom it acts for.
func TestManualTriggerInSomeoneElsesName(t *testing.T) {
	ctx := context.Background()
	ns := env.Namespace(t)
	mallory, bob := runStarter(t, ns, "mallory"), runStarter(t, ns, "bob")
	run := func(name, user string) *krtv1.WorkflowRun {
		ev := krtv1.WorkflowEvent{Type: krtv1.EventManual}
		if user != "-" {
			ev.Manual = &krtv1.ManualEvent{User: user}
		}
		return &krtv1.WorkflowRun{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
			Spec: krtv1.WorkflowRunSpec{Workflow: "deploy", Event: ev, Definition: krtv1.WorkflowSpec{
				On:    krtv1.Triggers{Manual: &krtv1.ManualTrigger{}},
				Steps: []krtv1.Step{{Name: "wait", Approval: &krtv1.ApprovalGate{Approvers: []string{"alice"}}}}}}}
	}
	const asAlice = "spec.event.manual.user must be the name of whoever starts the run, mallory, not alice"

	// The API server loads admission policies from a watch: wait, with a
	// deadline, for the first refusal, as a dry run that stores nothing.
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
	for _, tc := range []struct {
		name string
		obj  *krtv1.WorkflowRun
		want string
	}{
		{"in alice's name", run("as-alice", "alice"), asAlice},
		{"in no one's name", run("as-nobody", ""), "mallory, not empty"},
		{"with no manual event at all", run("unsigned", "-"), "mallory, not empty"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			refused(t, mallory.Create(ctx, tc.obj), tc.want)
		})
	}
	t.Run("renamed after it was admitted", func(t *testing.T) {
		patch := client.MergeFrom(own.DeepCopy())
		forged := own.DeepCopy()
		forged.Spec.Event.Manual.User = "alice"
		// Two policies refuse it, krt-workflowrun-spec (the spec is
		// immutable) and this one's own rule against renames; the API
		// server names whichever it evaluated first.
		err := mallory.Patch(ctx, forged, patch)
		immutable := apierrors.IsInvalid(err) && strings.Contains(err.Error(), "spec is immutable")
		renamed := apierrors.IsForbidden(err) && strings.Contains(err.Error(), "must be the name of whoever starts the run")
		if !immutable && !renamed {
			t.Fatalf("renamed with %v; want it refused: spec is immutable, or not in her name", err)
		}
	})
	t.Run("cancelled by another user", func(t *testing.T) {
		patch := client.MergeFrom(own.DeepCopy())
		cancel := own.DeepCopy()
		cancel.Spec.CancelRequested, cancel.Spec.CancelledBy = true, "bob"
		if err := bob.Patch(ctx, cancel, patch); err != nil {
			t.Errorf("bob cancelling mallory's run: %v", err)
		}
	})
	t.Run("krt-controller acts for a user", func(t *testing.T) {
		cfg, err := clientcmd.BuildConfigFromFlags("", stack.ControllerKubeconfig)
		if err != nil {
			t.Fatal(err)
		}
		controller, err := client.New(cfg, client.Options{Scheme: env.Scheme})
		if err != nil {
			t.Fatal(err)
		}
		if err := controller.Create(ctx, run("for-alice", "alice"), client.DryRunAll); err != nil {
			t.Errorf("krt-controller's ServiceAccount starting a run for alice: %v", err)
		}
	})

	// Only her own run is stored, in her name.
	list := &krtv1.WorkflowRunList{}
	if err := env.Client.List(ctx, list, client.InNamespace(ns)); err != nil {
		t.Fatal(err)
	}
	if len(list.Items) != 1 || list.Items[0].Spec.Event.Manual.User != "mallory" {
		t.Errorf("runs stored: %d, want mallory's own only", len(list.Items))
	}
}

// runStarter is a client that impersonates user, whom a Role in ns lets
// start, read and cancel WorkflowRuns: what `krt wf trigger` and `krt wf
// cancel` need.
func runStarter(t *testing.T, ns, user string) client.Client {
	t.Helper()
	cfg := rest.CopyConfig(env.Config)
	cfg.Impersonate = rest.ImpersonationConfig{UserName: user, Groups: []string{"system:authenticated"}}
	c, err := client.New(cfg, client.Options{Scheme: env.Scheme})
	if err != nil {
		t.Fatal(err)
	}
	grant(t, c, ns, "run-starter", user, []rbacv1.PolicyRule{{APIGroups: []string{krtv1.GroupVersion.Group},
		Resources: []string{"workflowruns"}, Verbs: []string{"get", "list", "create", "patch"}}}, &krtv1.WorkflowRunList{})
	return c
}
