package runtime

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"sigs.k8s.io/controller-runtime/pkg/client"

	krtv1 "krt.dev/krt/api/v1alpha1"
)

// ReasonForeignServiceAccount is the Stalled reason for a Runtime that
// names a ServiceAccount not dedicated to it.
const ReasonForeignServiceAccount = "ForeignServiceAccount"

// dedicatedServiceAccount checks that a ServiceAccount the Runtime names
// was meant for it. Without this a tenant who may create Runtimes would
// borrow any account in the namespace (a deploy pipeline's, another
// Runtime's with its Secrets), and krt would bind runtimed's Role onto it
// too. The label can only be set by someone who may edit ServiceAccounts,
// which creating a Runtime does not imply.
func (r *Reconciler) dedicatedServiceAccount(ctx context.Context, rt *krtv1.Runtime) error {
	name := rt.Spec.ServiceAccountName
	if name == "" {
		return nil
	}
	sa := &corev1.ServiceAccount{}
	// Live, not cached: the cache holds only accounts labelled for krt,
	// and an unlabelled one must be reported as such, not as missing.
	err := r.api.Get(ctx, client.ObjectKey{Namespace: rt.Namespace, Name: name}, sa)
	if apierrors.IsNotFound(err) {
		return fmt.Errorf("spec.serviceAccountName: ServiceAccount %q does not exist; create it with the label %s=%s",
			name, krtv1.LabelRuntime, rt.Name)
	}
	if err != nil {
		return err
	}
	if got := sa.Labels[krtv1.LabelRuntime]; got != rt.Name {
		return fmt.Errorf("spec.serviceAccountName: ServiceAccount %q is not dedicated to this Runtime: it needs the label %s=%s (it has %q)",
			name, krtv1.LabelRuntime, rt.Name, got)
	}
	return nil
}
