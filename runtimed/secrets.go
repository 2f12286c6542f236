package runtimed

import (
	"context"
	"fmt"
	"slices"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"

	krtv1 "krt.dev/krt/api/v1alpha1"
)

// secretValues reads each secretEnv value. Only the Secrets its Runtime
// names may be read: runtimed checks that here, for a clear message, and
// its Role enforces it.
func (a *Agent) secretValues(ctx context.Context, run *krtv1.Run) (map[string]string, error) {
	out := make(map[string]string, len(run.Spec.SecretEnv))
	cache := map[string]*corev1.Secret{}
	for _, se := range run.Spec.SecretEnv {
		ref := se.SecretKeyRef
		if !slices.Contains(a.opts.AllowedSecrets, ref.Name) {
			return nil, fmt.Errorf("secretEnv %s: Secret %q is not one of runtime %q's spec.secrets %v",
				se.Name, ref.Name, a.opts.Runtime, a.opts.AllowedSecrets)
		}
		s, ok := cache[ref.Name]
		if !ok {
			s = &corev1.Secret{}
			if err := a.client.Get(ctx, types.NamespacedName{Namespace: run.Namespace, Name: ref.Name}, s); err != nil {
				return nil, fmt.Errorf("secretEnv %s: reading Secret %q: %v", se.Name, ref.Name, err)
			}
			cache[ref.Name] = s
		}
		v, ok := s.Data[ref.Key]
		if !ok {
			return nil, fmt.Errorf("secretEnv %s: Secret %q has no key %q", se.Name, ref.Name, ref.Key)
		}
		out[se.Name] = string(v)
	}
	return out, nil
}
