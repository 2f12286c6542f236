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
	"sigs.k8s.io/controller-runtime/pkg/client"

	krtv1 "krt.dev/krt/api/v1alpha1"
)

// A tenant whom RBAC lets create Approvals (so who may approve some gates)
// tries to approve in someone else's name, or as a member of a group she
// is not in. The admission policy config/policy/approval-identity.yaml,
// installed as every install installs it, must refuse both, saying why;
// her own decision, in her own name, goes through, so the refusals are
// the policy's and not RBAC's.
func TestApprovalInSomeoneElsesName(t *testing.T) {
	ctx := context.Background()
	ns := env.Namespace(t)
	mallory := tenant(t, ns, "mallory", "tenants")
	approval := func(user string, groups ...string) *krtv1.Approval {
		return &krtv1.Approval{
			ObjectMeta: metav1.ObjectMeta{Namespace: ns, GenerateName: "decision-"},
			Spec: krtv1.ApprovalSpec{WorkflowRun: "deploy-prod", WorkflowRunUID: "deploy-prod-uid", Step: "approve-prod", Decision: "approve",
				User: user, Groups: groups},
		}
	}
	const otherName = "spec.user must be the approver's own name, mallory, not alice"
	const otherGroup = "spec.groups may only name groups the approver belongs to"

	// The API server loads admission policies from a watch: wait, with a
	// deadline, for the first refusal, as a dry run that stores nothing.
	var err error
	_ = wait.PollUntilContextTimeout(ctx, 50*time.Millisecond, 30*time.Second, true, func(context.Context) (bool, error) {
		err = mallory.Create(ctx, approval("alice"), client.DryRunAll)
		return err != nil && strings.Contains(err.Error(), otherName), nil
	})
	refused(t, err, otherName)

	own := approval("mallory", "tenants")
	if err := mallory.Create(ctx, own); err != nil {
		t.Fatalf("mallory's approval in her own name and group: %v", err)
	}
	for _, tc := range []struct {
		name string
		obj  *krtv1.Approval
		want string
	}{
		{"in alice's name", approval("alice"), otherName},
		{"in alice's name, with alice's group", approval("alice", "release-managers"), otherName},
		{"in a group she is not in", approval("mallory", "tenants", "release-managers"), otherGroup},
	} {
		t.Run(tc.name, func(t *testing.T) {
			refused(t, mallory.Create(ctx, tc.obj), tc.want)
		})
	}
	// Nor can she admit her own and then swap the name in: an Approval
	// is immutable (the CRD's rule refuses the update before admission
	// is asked).
	t.Run("renamed after it was admitted", func(t *testing.T) {
		forged := own.DeepCopy()
		forged.Spec.User = "alice"
		err := mallory.Update(ctx, forged)
		if !apierrors.IsInvalid(err) || !strings.Contains(err.Error(), "an approval cannot be changed") {
			t.Errorf("renaming her approval to alice: %v; want it refused as immutable", err)
		}
	})

	// Only her own decision is stored.
	list := &krtv1.ApprovalList{}
	if err := env.Client.List(ctx, list, client.InNamespace(ns)); err != nil {
		t.Fatal(err)
	}
	if len(list.Items) != 1 || list.Items[0].Spec.User != "mallory" {
		t.Errorf("approvals stored: %+v, want mallory's own only", list.Items)
	}
}

// refused checks that admission refused a request as forbidden, saying why.
func refused(t *testing.T, err error, why string) {
	t.Helper()
	if err == nil {
		t.Fatalf("admitted; want it refused as forbidden with %q", why)
	}
	if !apierrors.IsForbidden(err) || !strings.Contains(err.Error(), why) {
		t.Fatalf("refused with %v; want forbidden with %q", err, why)
	}
}

// tenant is a client for a user the API server authenticates by client
// certificate, whom a Role in ns lets create and update Approvals.
func tenant(t *testing.T, ns, user string, groups ...string) client.Client {
	t.Helper()
	c := certUser(t, user, groups...)
	grant(t, c, ns, "approver", user, []rbacv1.PolicyRule{{APIGroups: []string{krtv1.GroupVersion.Group},
		Resources: []string{"approvals"}, Verbs: []string{"get", "list", "create", "update"}}}, &krtv1.ApprovalList{})
	return c
}
