package v1alpha1

import corev1 "k8s.io/api/core/v1"

// Labels and annotations that tie runtime pods, Leases and Runs together.
const (
	// LabelRuntime on a runtime pod and its Lease names the Runtime.
	LabelRuntime = "krt.dev/runtime"
	// AnnotationCapacity on a runtime pod is the number of Runs it executes
	// at once. It is static for the life of the pod; usage is derived from
	// Run state, never written to the pod.
	AnnotationCapacity = "krt.dev/capacity"
	// LogsPortName is the name of runtimed's live log port on a runtime pod.
	LogsPortName = "krt-logs"
	// FieldAssignedPod is the selectable field runtimed watches with.
	FieldAssignedPod = "status.assignedPod"
)

// LogsPort is the port of runtimed's log server on a runtime pod, from its
// container port named LogsPortName; 0 when the pod has none.
func LogsPort(p *corev1.Pod) int32 {
	for _, c := range p.Spec.Containers {
		for _, port := range c.Ports {
			if port.Name == LogsPortName {
				return port.ContainerPort
			}
		}
	}
	return 0
}
