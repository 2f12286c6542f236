package security

import (
	"context"
	"testing"
	"time"

	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// grant binds user to a Role named role in ns, made of rules (a Role of
// that name already there is reused), and waits until c, acting as user,
// can list probe there: the API server's authorizer learns of bindings
// from a watch.
func grant(t *testing.T, c client.Client, ns, role, user string, rules []rbacv1.PolicyRule, probe client.ObjectList) {
	t.Helper()
	ctx := context.Background()
	r := &rbacv1.Role{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: role}, Rules: rules}
	if err := env.Client.Create(ctx, r); client.IgnoreAlreadyExists(err) != nil {
		t.Fatal(err)
	}
	binding := &rbacv1.RoleBinding{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: role + "-" + user},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: role},
		Subjects:   []rbacv1.Subject{{APIGroup: rbacv1.GroupName, Kind: rbacv1.UserKind, Name: user}},
	}
	if err := env.Client.Create(ctx, binding); err != nil {
		t.Fatal(err)
	}
	eventually(t, 30*time.Second, user+"'s Role to be in force", func() bool {
		return c.List(ctx, probe, client.InNamespace(ns)) == nil
	})
}

// certUser is a client for user, whom the API server authenticates by a
// client certificate.
func certUser(t *testing.T, user string, groups ...string) client.Client {
	t.Helper()
	cfg, err := env.UserConfig(user, groups...)
	if err != nil {
		t.Fatal(err)
	}
	c, err := client.New(cfg, client.Options{Scheme: env.Scheme})
	if err != nil {
		t.Fatal(err)
	}
	return c
}
