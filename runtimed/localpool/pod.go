package localpool

import (
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	krtv1 "krt.dev/krt/api/v1alpha1"
	runtimectl "krt.dev/krt/controllers/runtime"
)

const (
	// nodeName marks pods the local pool runs; no node object backs it.
	nodeName = "krt-local"
	// localImage names the runtimed image in the pod spec; locally the
	// binaries run as processes instead.
	localImage = "krt.dev/runtimed:local"
)

// podFor is a runtime pod as the Runtime controller's Deployment would make
// it, with the log and metrics ports the local runtimed listens on and the token its log
// server asks for.
func podFor(rt *krtv1.Runtime, logsPort, metricsPort int, logsToken string) *corev1.Pod {
	tmpl := runtimectl.PodTemplate(rt, runtimectl.PodOptions{RuntimedImage: localImage,
		LogsPort: int32(logsPort), MetricsPort: int32(metricsPort)})
	spec := tmpl.Spec
	spec.NodeName = nodeName
	if tmpl.Annotations == nil {
		tmpl.Annotations = map[string]string{}
	}
	tmpl.Annotations[krtv1.AnnotationLocalLogsToken] = logsToken
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{
			GenerateName: rt.Name + "-",
			Namespace:    rt.Namespace,
			Labels:       tmpl.Labels,
			Annotations:  tmpl.Annotations,
			OwnerReferences: []metav1.OwnerReference{*metav1.NewControllerRef(rt,
				krtv1.GroupVersion.WithKind("Runtime"))},
		},
		Spec: spec,
	}
}

// shortName keeps socket paths short (a unix socket path must fit in 108
// bytes, and namespaces and names can be long): a pod's UID is unique.
func shortName(p *corev1.Pod) string {
	return string(p.UID)[:13]
}
