package localpool

import (
	"strconv"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	krtv1 "krt.dev/krt/api/v1alpha1"
)

const (
	serviceAccount = "default"
	// nodeName marks pods the local pool runs; no node object backs it.
	nodeName = "krt-local"
)

// podFor is a runtime pod as the local pool runs it: the same containers a
// cluster would run, with the log port the local runtimed listens on.
func podFor(rt *krtv1.Runtime, logsPort int) *corev1.Pod {
	capacity := rt.Spec.Capacity
	if capacity == 0 {
		capacity = 4
	}
	restricted := &corev1.SecurityContext{
		AllowPrivilegeEscalation: ptr.To(false),
		ReadOnlyRootFilesystem:   ptr.To(true),
		RunAsNonRoot:             ptr.To(true),
		Capabilities:             &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}},
		SeccompProfile:           &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault},
	}
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{
			GenerateName: rt.Name + "-",
			Namespace:    rt.Namespace,
			Labels:       map[string]string{krtv1.LabelRuntime: rt.Name},
			Annotations:  map[string]string{krtv1.AnnotationCapacity: strconv.Itoa(int(capacity))},
			OwnerReferences: []metav1.OwnerReference{*metav1.NewControllerRef(rt,
				krtv1.GroupVersion.WithKind("Runtime"))},
		},
		Spec: corev1.PodSpec{
			NodeName:                     nodeName,
			ServiceAccountName:           serviceAccount,
			AutomountServiceAccountToken: ptr.To(false),
			SecurityContext: &corev1.PodSecurityContext{
				RunAsNonRoot:   ptr.To(true),
				RunAsUser:      ptr.To(int64(65532)),
				SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault},
			},
			Containers: []corev1.Container{
				{Name: "runtime", Image: rt.Spec.Image, Command: []string{"/krt/bin/krt-runtime"}, SecurityContext: restricted},
				{
					Name: "runtimed", Image: "krt.dev/runtimed:local", SecurityContext: restricted,
					Ports: []corev1.ContainerPort{{Name: krtv1.LogsPortName, ContainerPort: int32(logsPort)}},
				},
			},
		},
	}
}

// shortName keeps socket paths short (a unix socket path must fit in 108
// bytes, and namespaces and names can be long): a pod's UID is unique.
func shortName(p *corev1.Pod) string {
	return string(p.UID)[:13]
}

func langStrings(rt *krtv1.Runtime) []string {
	out := make([]string, 0, len(rt.Spec.Languages))
	for _, l := range rt.Spec.Languages {
		out = append(out, string(l))
	}
	return out
}
