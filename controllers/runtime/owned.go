package runtime

import (
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

type networkingEgress = networkingv1.NetworkPolicyEgressRule

// copyOwned copies the fields krt owns from want onto live: its labels and
// the object's spec, as each kind has it. A spec the API server only filled
// defaults into is left as it is, so an unchanged Runtime costs no write.
func copyOwned(want, live client.Object) {
	labels := live.GetLabels()
	if labels == nil {
		labels = map[string]string{}
	}
	for k, v := range want.GetLabels() {
		labels[k] = v
	}
	live.SetLabels(labels)
	switch w := want.(type) {
	case *appsv1.Deployment:
		l := live.(*appsv1.Deployment)
		// The count is krt's: scale the Runtime (its scale subresource),
		// not the Deployment.
		l.Spec.Replicas = w.Spec.Replicas
		// DeepDerivative takes a wanted template with less in it (a
		// sidecar or a node selector dropped from the Runtime's
		// template) for the same; the digest of what krt wants sees it.
		digest := w.Annotations[annotationPodDigest]
		if !equality.Semantic.DeepDerivative(w.Spec.Template, l.Spec.Template) || l.Annotations[annotationPodDigest] != digest {
			l.Spec.Template = w.Spec.Template
		}
		if l.Annotations == nil {
			l.Annotations = map[string]string{}
		}
		l.Annotations[annotationPodDigest] = digest
		if l.CreationTimestamp.IsZero() {
			l.Spec.Selector = w.Spec.Selector // immutable once created
		}
	case *rbacv1.Role:
		live.(*rbacv1.Role).Rules = w.Rules
	case *rbacv1.RoleBinding:
		l := live.(*rbacv1.RoleBinding)
		l.Subjects = w.Subjects
		if l.CreationTimestamp.IsZero() {
			l.RoleRef = w.RoleRef // immutable once created
		}
	case *networkingv1.NetworkPolicy:
		// No ingress rule is a rule (deny all), which DeepDerivative would
		// take for "anything goes".
		l := live.(*networkingv1.NetworkPolicy)
		if !equality.Semantic.DeepDerivative(w.Spec, l.Spec) || len(w.Spec.Ingress) != len(l.Spec.Ingress) {
			l.Spec = w.Spec
		}
	case *corev1.ServiceAccount:
		// Nothing but labels: tokens and image pull secrets are others'.
	}
}
