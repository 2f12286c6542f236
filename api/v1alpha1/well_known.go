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
	// MetricsPortName is the name of runtimed's Prometheus metrics port on
	// a runtime pod, the one port of it open to scrapers.
	MetricsPortName = "krt-metrics"
	// LabelScrapeMetrics on a namespace lets its pods (Prometheus) reach
	// krt's metrics ports through krt's NetworkPolicies.
	LabelScrapeMetrics = "krt.dev/scrape-metrics"
	// AnnotationLocalLogsToken is on the pods of the local pool only (krt
	// dev up, the tests): the bearer token of runtimed's log server, which
	// `krt logs` reads there because no kubelet serves pods/log. Reading it
	// takes "get" on the pod. In a cluster no pod has it: runtimed serves
	// no logs, and `krt logs` reads pods/log.
	AnnotationLocalLogsToken = "krt.dev/local-logs-token"
	// LabelWorkflowRunUID on a Run is the UID of the WorkflowRun that made
	// it. The engine adopts, cancels and follows only the Runs that carry
	// its own UID: in a remote namespace shared by several hubs or hub
	// namespaces, names and origin annotations can repeat, a UID cannot.
	LabelWorkflowRunUID = "krt.dev/workflow-run-uid"
	// LabelSpent on a runtime pod's Lease says that its pod has taken the
	// one Run an ephemeral Runtime allows: the scheduler assigns it no
	// other, and the Runtime controller deletes the pod once that Run
	// has ended. Admission never lets runtimed remove it.
	LabelSpent = "krt.dev/spent"
	// LabelEvent and LabelRepository on a Run say what started its
	// WorkflowRun, for a Runtime's allowedWorkflows.
	LabelEvent = "krt.dev/event"
	// AnnotationDraining on a runtime pod, set by the Runtime controller
	// with the time it began, says the pool is shrinking by this pod: the
	// scheduler assigns it no new Run, and it is removed once its Runs end.
	AnnotationDraining = "krt.dev/draining"
	// AnnotationPodDeletionCost is the ReplicaSet controller's: of a
	// Deployment's pods, it removes those with the lowest cost first. krt
	// sets it on a drained pod that holds no Run, just before lowering the
	// Deployment's replicas, so that pod is the one removed.
	AnnotationPodDeletionCost = "controller.kubernetes.io/pod-deletion-cost"
	// FieldAssignedPod is the selectable field runtimed watches with.
	FieldAssignedPod = "status.assignedPod"
	// RunStatusFieldManager is the field manager of every status write
	// krt makes to a Run: the scheduler's, the reaper's and runtimed's.
	// One name keeps a Run's managed fields at two entries (its creator's
	// and this one), where a manager per writer made three, and the API
	// server decodes, checks and re-encodes them on every write and
	// watch event. Who wrote is in the audit log, not here.
	RunStatusFieldManager = "krt-run-status"
)

// LogsPort is the port of runtimed's log server on a runtime pod, from its
// container port named LogsPortName; 0 when the pod has none.
func LogsPort(p *corev1.Pod) int32 { return namedPort(p, LogsPortName) }

// MetricsPort is the port of runtimed's metrics server on a runtime pod;
// 0 when the pod has none.
func MetricsPort(p *corev1.Pod) int32 { return namedPort(p, MetricsPortName) }

func namedPort(p *corev1.Pod, name string) int32 {
	for _, c := range p.Spec.Containers {
		for _, port := range c.Ports {
			if port.Name == name {
				return port.ContainerPort
			}
		}
	}
	return 0
}
