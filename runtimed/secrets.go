package runtimed

import (
	"context"
	"fmt"
	"slices"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"

	runtimev1 "krt.dev/krt/api/runtime/v1"
	krtv1 "krt.dev/krt/api/v1alpha1"
)

// secretValues reads each secretEnv value. Only the Secrets its Runtime
// names may be read: runtimed checks that here, for a clear message, and
// its Role enforces it.
func (a *Agent) secretValues(ctx context.Context, run *krtv1.Run, cache secretCache) (map[string]string, error) {
	out := make(map[string]string, len(run.Spec.SecretEnv))
	for _, se := range run.Spec.SecretEnv {
		ref := se.SecretKeyRef
		s, err := a.readSecret(ctx, run, ref.Name, "secretEnv "+se.Name, cache)
		if err != nil {
			return nil, err
		}
		v, ok := s.Data[ref.Key]
		if !ok {
			return nil, fmt.Errorf("secretEnv %s: Secret %q has no key %q", se.Name, ref.Name, ref.Key)
		}
		out[se.Name] = string(v)
	}
	return out, nil
}

// secretFiles reads the Secrets that the Run gets as files, every key of
// each, under the same rule as secretEnv.
func (a *Agent) secretFiles(ctx context.Context, run *krtv1.Run, cache secretCache) ([]*runtimev1.SecretFile, error) {
	var out []*runtimev1.SecretFile
	for _, sf := range run.Spec.SecretFiles {
		s, err := a.readSecret(ctx, run, sf.Secret, "secretFiles "+sf.Name, cache)
		if err != nil {
			return nil, err
		}
		if len(s.Data) == 0 {
			return nil, fmt.Errorf("secretFiles %s: Secret %q has no keys", sf.Name, sf.Secret)
		}
		out = append(out, &runtimev1.SecretFile{Name: sf.Name, MountPath: sf.MountPath, Files: s.Data})
	}
	return out, nil
}

// secretCache holds the Secrets read for one Run, so that a Secret used
// both as env and as files is read from the API server once.
type secretCache map[string]*corev1.Secret

// readSecret reads one Secret the Runtime allows; what names an error.
func (a *Agent) readSecret(ctx context.Context, run *krtv1.Run, name, what string, cache secretCache) (*corev1.Secret, error) {
	if !slices.Contains(a.opts.AllowedSecrets, name) {
		return nil, fmt.Errorf("%s: Secret %q is not one of runtime %q's spec.secrets %v",
			what, name, a.opts.Runtime, a.opts.AllowedSecrets)
	}
	if s, ok := cache[name]; ok {
		return s, nil
	}
	s := &corev1.Secret{}
	if err := a.client.Get(ctx, types.NamespacedName{Namespace: run.Namespace, Name: name}, s); err != nil {
		return nil, fmt.Errorf("%s: reading Secret %q: %v", what, name, err)
	}
	cache[name] = s
	return s, nil
}
