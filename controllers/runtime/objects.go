package runtime

import (
	"slices"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	krtv1 "krt.dev/krt/api/v1alpha1"
)

// NamePrefix starts the name of every object made for a Runtime. The
// ValidatingAdmissionPolicy that keeps runtimed to its own Lease matches
// service accounts by it.
const NamePrefix = "krt-runtime-"

// Name is the name of the objects made for a Runtime.
func Name(rt *krtv1.Runtime) string { return NamePrefix + rt.Name }

// ServiceAccountName is the identity of the Runtime's pods.
func ServiceAccountName(rt *krtv1.Runtime) string {
	if rt.Spec.ServiceAccountName != "" {
		return rt.Spec.ServiceAccountName
	}
	return Name(rt)
}

// labels mark what krt made; they never copy the Runtime's own labels, so
// Argo CD and Flux do not take the objects for theirs.
func labels(rt *krtv1.Runtime) map[string]string {
	return map[string]string{
		"app.kubernetes.io/name":       "krt-runtime",
		"app.kubernetes.io/component":  "runtime",
		"app.kubernetes.io/managed-by": "krt",
		krtv1.LabelRuntime:             rt.Name,
	}
}

func meta(rt *krtv1.Runtime, name string) metav1.ObjectMeta {
	return metav1.ObjectMeta{Name: name, Namespace: rt.Namespace, Labels: labels(rt)}
}

// DefaultRuntimedClusterRole is the ClusterRole, installed with krt
// (config/rbac/runtimed.yaml, generated from runtimed's markers), that
// holds what runtimed may do in its own namespace: read Runs, write their
// status, keep its Lease. Each Runtime binds it in its namespace.
const DefaultRuntimedClusterRole = "krt-runtimed"

// Rules are what runtimed may do beyond the ClusterRole: read the Secrets
// the Runtime names and its ArtifactStore's credentials Secret (as may be
// nil), by name, and nothing else. A Role may only grant what its writer
// holds, so the runtime controller needs get on Secrets for this, and
// never escalate.
func Rules(rt *krtv1.Runtime, as *krtv1.ArtifactStore) []rbacv1.PolicyRule {
	names := append([]string(nil), rt.Spec.Secrets...)
	if as != nil && as.Spec.S3 != nil && as.Spec.S3.CredentialsSecret != "" && !slices.Contains(names, as.Spec.S3.CredentialsSecret) {
		names = append(names, as.Spec.S3.CredentialsSecret)
	}
	if len(names) == 0 {
		return nil
	}
	return []rbacv1.PolicyRule{{APIGroups: []string{""}, Resources: []string{"secrets"},
		Verbs: []string{"get"}, ResourceNames: names}}
}

func serviceAccount(rt *krtv1.Runtime) *corev1.ServiceAccount {
	return &corev1.ServiceAccount{ObjectMeta: meta(rt, ServiceAccountName(rt))}
}

// role is there even with no Secrets to grant, so that dropping the last
// one from spec.secrets empties it.
func role(rt *krtv1.Runtime, as *krtv1.ArtifactStore) *rbacv1.Role {
	return &rbacv1.Role{ObjectMeta: meta(rt, Name(rt)), Rules: Rules(rt, as)}
}

func roleBinding(rt *krtv1.Runtime) *rbacv1.RoleBinding {
	return binding(rt, Name(rt), rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: Name(rt)})
}

// runtimedBinding grants the runtimed ClusterRole in the Runtime's
// namespace only.
func runtimedBinding(rt *krtv1.Runtime, clusterRole string) *rbacv1.RoleBinding {
	return binding(rt, Name(rt)+"-runtimed", rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: clusterRole})
}

func binding(rt *krtv1.Runtime, name string, ref rbacv1.RoleRef) *rbacv1.RoleBinding {
	return &rbacv1.RoleBinding{
		ObjectMeta: meta(rt, name),
		RoleRef:    ref,
		Subjects:   []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Name: ServiceAccountName(rt), Namespace: rt.Namespace}},
	}
}
