package runtime

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/util/strategicpatch"

	krtv1 "krt.dev/krt/api/v1alpha1"
)

// Pod is the pod a Runtime's Deployment runs: krt's own (PodTemplate)
// with the Runtime's template merged on. An error names the template's
// field that krt refuses.
func Pod(rt *krtv1.Runtime, opts PodOptions) (corev1.PodTemplateSpec, error) {
	base := PodTemplate(rt, opts)
	if rt.Spec.Template == nil {
		return base, nil
	}
	overlay, errs := podOverlay(rt)
	if len(errs) > 0 {
		return corev1.PodTemplateSpec{}, errs.ToAggregate()
	}
	out := *base.DeepCopy()
	for k, v := range rt.Spec.Template.Metadata.Labels {
		if _, krts := out.Labels[k]; !krts {
			out.Labels[k] = v
		}
	}
	for k, v := range rt.Spec.Template.Metadata.Annotations {
		if _, krts := out.Annotations[k]; !krts {
			out.Annotations[k] = v
		}
	}
	if overlay == nil {
		return out, nil
	}
	spec, err := mergeSpec(base.Spec, overlay)
	if err != nil {
		return corev1.PodTemplateSpec{}, err
	}
	finishContainers(rt, spec, overlay)
	if err := keptKrts(&base.Spec, spec); err != nil {
		return corev1.PodTemplateSpec{}, err
	}
	out.Spec = *spec
	return out, nil
}

// mergeSpec applies the overlay as a strategic merge patch. The patch is
// the overlay as krt decoded and checked it, re-encoded without nulls: a
// null in a strategic merge patch deletes, and a template only adds.
func mergeSpec(base corev1.PodSpec, overlay *corev1.PodSpec) (*corev1.PodSpec, error) {
	original, err := json.Marshal(base)
	if err != nil {
		return nil, err
	}
	raw, err := json.Marshal(overlay)
	if err != nil {
		return nil, err
	}
	var patch map[string]any
	if err := json.Unmarshal(raw, &patch); err != nil {
		return nil, err
	}
	merged, err := strategicpatch.StrategicMergePatch(original, mustJSON(dropNulls(patch)), corev1.PodSpec{})
	if err != nil {
		return nil, fmt.Errorf("%s: merging it onto krt's pod: %w", templatePath, err)
	}
	spec := &corev1.PodSpec{}
	if err := json.Unmarshal(merged, spec); err != nil {
		return nil, fmt.Errorf("%s: merging it onto krt's pod: %w", templatePath, err)
	}
	return spec, nil
}

func dropNulls(v any) any {
	switch t := v.(type) {
	case map[string]any:
		for k, e := range t {
			if e == nil {
				delete(t, k)
			} else {
				t[k] = dropNulls(e)
			}
		}
	case []any:
		for i, e := range t {
			t[i] = dropNulls(e)
		}
	}
	return v
}

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err) // maps and slices decoded from JSON always encode
	}
	return b
}

// finishContainers gives sidecars krt's security context, and the runtime
// container the overlay's probes whole (merged, an exec probe and an HTTP
// one would be one invalid probe). A runtime container with a command of
// the template's runs a Runtime Server of the Runtime's: the environment
// tells it what krt-runtime's flags would.
func finishContainers(rt *krtv1.Runtime, spec, overlay *corev1.PodSpec) {
	var ov *corev1.Container
	for i := range overlay.Containers {
		if overlay.Containers[i].Name == RuntimeContainer {
			ov = &overlay.Containers[i]
		}
	}
	for i := range spec.Containers {
		c := &spec.Containers[i]
		switch c.Name {
		case RuntimedContainer:
		case RuntimeContainer:
			if ov == nil {
				continue
			}
			c.ReadinessProbe = orElse(ov.ReadinessProbe, c.ReadinessProbe)
			c.LivenessProbe = orElse(ov.LivenessProbe, c.LivenessProbe)
			c.StartupProbe = orElse(ov.StartupProbe, c.StartupProbe)
			if len(ov.Command) > 0 {
				c.Env = append(c.Env, serverEnv(rt)...)
			}
		default:
			c.SecurityContext = sidecarContext()
		}
	}
}

func orElse[T any](a, b *T) *T {
	if a != nil {
		return a
	}
	return b
}

// serverEnv is what a Runtime Server of the Runtime's own needs to know:
// where to listen, whom to serve, how far to keep Runs apart.
func serverEnv(rt *krtv1.Runtime) []corev1.EnvVar {
	return []corev1.EnvVar{
		{Name: "KRT_RUNTIME_SOCKET", Value: RuntimeSocket},
		{Name: "KRT_RUNTIMED_UID", Value: strconv.Itoa(RuntimedUID)},
		{Name: "KRT_WORK_ROOT", Value: WorkRoot},
		{Name: "KRT_ISOLATION", Value: string(rt.Mode())},
	}
}

// sidecarContext is restricted() with a writable root filesystem: images
// such as postgres write beside their binaries. It runs as the pod's uid,
// never as runtimed's, so a sidecar cannot use the runtime socket.
func sidecarContext() *corev1.SecurityContext {
	c := restricted()
	c.ReadOnlyRootFilesystem = nil
	return c
}

// keptKrts checks the merged pod against krt's own, whatever the checks
// before the merge missed: runtimed, the install container, krt's
// volumes, the identity, the token rule and every security context.
func keptKrts(base, merged *corev1.PodSpec) error {
	find := func(cs []corev1.Container, name string) *corev1.Container {
		for i := range cs {
			if cs[i].Name == name {
				return &cs[i]
			}
		}
		return nil
	}
	same := func(what string, a, b any) error {
		if !equality.Semantic.DeepEqual(a, b) {
			return fmt.Errorf("%s: the merged pod changes %s, which is krt's", templatePath, what)
		}
		return nil
	}
	rt, want := find(merged.Containers, RuntimeContainer), find(base.Containers, RuntimeContainer)
	if rt == nil {
		return fmt.Errorf("%s: the merged pod has no runtime container", templatePath)
	}
	checks := []error{
		same("runtimed", find(base.Containers, RuntimedContainer), find(merged.Containers, RuntimedContainer)),
		same("the init containers", base.InitContainers, merged.InitContainers),
		same("the service account", base.ServiceAccountName, merged.ServiceAccountName),
		same("automountServiceAccountToken", base.AutomountServiceAccountToken, merged.AutomountServiceAccountToken),
		same("the pod's security context", base.SecurityContext, merged.SecurityContext),
		same("the runtime container's security context", want.SecurityContext, rt.SecurityContext),
		same("the host namespaces", false, merged.HostNetwork || merged.HostPID || merged.HostIPC || merged.ShareProcessNamespace != nil),
	}
	for _, v := range base.Volumes {
		var got *corev1.Volume
		for i := range merged.Volumes {
			if merged.Volumes[i].Name == v.Name {
				got = &merged.Volumes[i]
			}
		}
		checks = append(checks, same("volume "+v.Name, &v, got))
	}
	for _, m := range want.VolumeMounts {
		checks = append(checks, same("the runtime container's mount of "+m.MountPath, true, containsMount(rt.VolumeMounts, m)))
	}
	for _, c := range merged.Containers {
		if c.SecurityContext == nil {
			checks = append(checks, fmt.Errorf("%s: container %s has no security context", templatePath, c.Name))
		}
	}
	return errors.Join(checks...)
}

func containsMount(ms []corev1.VolumeMount, m corev1.VolumeMount) bool {
	for _, x := range ms {
		if equality.Semantic.DeepEqual(x, m) {
			return true
		}
	}
	return false
}
