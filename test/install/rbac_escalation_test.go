package install

import (
	"context"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// What RBAC checks only when a Role or binding is written: whether its
// writer holds every right it grants, or may bind the role it names. A
// SubjectAccessReview cannot tell, so each row is a real request
// (server-side dry run) made as the controller's account, and the
// verdict is the API server's.
func TestControllerCannotEscalate(t *testing.T) {
	env := installed(t)
	ns := env.Namespace(t)
	ctx := context.Background()
	runtimedSA := []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Name: "krt-runtime-pool", Namespace: ns}}
	meta := metav1.ObjectMeta{GenerateName: "escalate-", Namespace: ns}
	bindingTo := func(kind, name string) client.Object {
		return &rbacv1.RoleBinding{ObjectMeta: meta, Subjects: runtimedSA,
			RoleRef: rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: kind, Name: name}}
	}
	roleGranting := func(rule rbacv1.PolicyRule) client.Object {
		return &rbacv1.Role{ObjectMeta: meta, Rules: []rbacv1.PolicyRule{rule}}
	}
	rule := func(group, resource, verb string, names ...string) rbacv1.PolicyRule {
		return rbacv1.PolicyRule{APIGroups: []string{group}, Resources: []string{resource}, Verbs: []string{verb}, ResourceNames: names}
	}
	// A role worth stealing, with its rules written out: the API server
	// here runs no aggregation controller, so admin and edit are empty.
	wide := []rbacv1.PolicyRule{rule("", "secrets", "list"), rule("", "pods", "create")}
	for _, o := range []client.Object{
		&rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: "tenant-admin"}, Rules: wide},
		&rbacv1.Role{ObjectMeta: metav1.ObjectMeta{Name: "tenant-admin", Namespace: ns}, Rules: wide},
	} {
		if err := env.Client.Create(ctx, o); client.IgnoreAlreadyExists(err) != nil {
			t.Fatal(err)
		}
	}
	grown := &rbacv1.ClusterRole{}
	if err := env.Client.Get(ctx, client.ObjectKey{Name: "krt-runtimed"}, grown); err != nil {
		t.Fatal(err)
	}
	grown.Rules = append(grown.Rules, rule("", "secrets", "list"))
	rows := []struct {
		name    string
		obj     client.Object
		update  bool
		allowed bool
	}{
		// What the runtime controller writes for every Runtime.
		{"bind krt-runtimed to a Runtime's account", bindingTo("ClusterRole", "krt-runtimed"), false, true},
		{"a Role reading one named Secret", roleGranting(rule("", "secrets", "get", "deploy-key")), false, true},
		{"a Role with no rules", &rbacv1.Role{ObjectMeta: meta}, false, true},
		// What would take more than the controller holds.
		{"bind cluster-admin", bindingTo("ClusterRole", "cluster-admin"), false, false},
		{"bind a ClusterRole that lists Secrets", bindingTo("ClusterRole", "tenant-admin"), false, false},
		{"bind a Role of the namespace that lists Secrets", bindingTo("Role", "tenant-admin"), false, false},
		{"a Role listing Secrets", roleGranting(rule("", "secrets", "list")), false, false},
		{"a Role writing Leases, as runtimed may", roleGranting(rule("coordination.k8s.io", "leases", "update")), false, false},
		{"a Role creating pods", roleGranting(rule("", "pods", "create")), false, false},
		{"a Role granting everything", roleGranting(rule("*", "*", "*")), false, false},
		{"a ClusterRoleBinding to krt-runtimed", &rbacv1.ClusterRoleBinding{ObjectMeta: metav1.ObjectMeta{GenerateName: "escalate-"},
			Subjects: runtimedSA, RoleRef: rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: "krt-runtimed"}}, false, false},
		{"krt-runtimed grown to list Secrets", grown, true, false},
		{"a Secret", &corev1.Secret{ObjectMeta: meta}, false, false},
		{"a pod", &corev1.Pod{ObjectMeta: meta, Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "busybox"}}}}, false, false},
	}
	for _, who := range []struct {
		name string
		id   identity
		// Whether its rights include the runtime controller's.
		runtime bool
	}{
		{"the installed account", serviceAccountIdentity("krt-system", "krt-controller"), true},
		{"the runtime controller alone", bindAlone(t, env, "runtime"), true},
		{"the source controller alone", bindAlone(t, env, "source"), false},
	} {
		t.Run(who.name, func(t *testing.T) {
			c := as(t, env, who.id)
			for _, row := range rows {
				obj := row.obj.DeepCopyObject().(client.Object)
				var err error
				if row.update {
					err = c.Update(ctx, obj, client.DryRunAll)
				} else {
					err = c.Create(ctx, obj, client.DryRunAll)
				}
				want := row.allowed && who.runtime
				switch {
				case want && err != nil:
					t.Errorf("%s: refused: %v", row.name, err)
				case !want && !apierrors.IsForbidden(err):
					t.Errorf("%s: err = %v, want it forbidden", row.name, err)
				}
			}
			// A Secret can be read by name, never listed.
			if err := c.List(ctx, &corev1.SecretList{}); !apierrors.IsForbidden(err) {
				t.Errorf("listing every Secret: err = %v, want it forbidden", err)
			}
			if err := c.List(ctx, &corev1.SecretList{}, client.InNamespace(ns)); !apierrors.IsForbidden(err) {
				t.Errorf("listing the Secrets of %s: err = %v, want it forbidden", ns, err)
			}
			// A Deployment is the runtime controller's alone.
			dep := &appsv1.Deployment{ObjectMeta: meta, Spec: appsv1.DeploymentSpec{
				Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"a": "b"}},
				Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"a": "b"}},
					Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "busybox"}}}}}}
			err := c.Create(ctx, dep, client.DryRunAll)
			if who.runtime && err != nil {
				t.Errorf("creating a Deployment: refused: %v", err)
			}
			if !who.runtime && !apierrors.IsForbidden(err) {
				t.Errorf("creating a Deployment: err = %v, want it forbidden", err)
			}
		})
	}
}
