package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
)

// ClusterSpec says how to reach a cluster.
type ClusterSpec struct {
	// KubeconfigSecretRef names the Secret key holding a kubeconfig.
	KubeconfigSecretRef SecretKeySelector `json:"kubeconfigSecretRef"`
	// Namespace is where steps' Runs are created in that cluster.
	// +kubebuilder:validation:MaxLength=63
	// +kubebuilder:default="default"
	// +optional
	Namespace string `json:"namespace,omitempty"`
	// DefaultRuntime is the Runtime, in that cluster, that runs a step
	// whose runner names this Cluster.
	// +kubebuilder:validation:MaxLength=253
	// +kubebuilder:default="bash"
	// +optional
	DefaultRuntime string `json:"defaultRuntime,omitempty"`
}

// ClusterStatus is the cluster as last probed.
type ClusterStatus struct {
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`
	// +kubebuilder:validation:MaxItems=8
	// +listType=map
	// +listMapKey=type
	// +optional
	Conditions []metav1.Condition `json:"conditions,omitempty"`
	// +kubebuilder:validation:MaxLength=64
	// +optional
	ServerVersion string `json:"serverVersion,omitempty"`
	// +optional
	LastProbeTime *metav1.Time `json:"lastProbeTime,omitempty"`
}

// Cluster is a named remote cluster that steps can run in.
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:shortName=cl,categories=krt
// +kubebuilder:printcolumn:name="Namespace",type=string,JSONPath=`.spec.namespace`
// +kubebuilder:printcolumn:name="Version",type=string,JSONPath=`.status.serverVersion`
// +kubebuilder:printcolumn:name="Ready",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].status`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type Cluster struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec   ClusterSpec   `json:"spec"`
	Status ClusterStatus `json:"status,omitempty"`
}

// ClusterList is a list of Clusters.
// +kubebuilder:object:root=true
type ClusterList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []Cluster `json:"items"`
}

// GetConditions lets fluxcd's conditions helpers read the cluster's.
func (c *Cluster) GetConditions() []metav1.Condition { return c.Status.Conditions }

// SetConditions lets fluxcd's conditions helpers set the cluster's.
func (c *Cluster) SetConditions(conds []metav1.Condition) { c.Status.Conditions = conds }

// ApprovalSpec is one person's decision on a gate. The API server's
// admission policy checks that user and groups are the caller's own, so a
// name written by the client is never trusted.
// +kubebuilder:validation:XValidation:rule="self == oldSelf",message="an approval cannot be changed; create another"
type ApprovalSpec struct {
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	WorkflowRun string `json:"workflowRun"`
	// WorkflowRunUID pins the decision to one run: a run deleted and made
	// again under its name, or another run, is not decided by it. krt wf
	// approve also makes the run the Approval's owner, so it is deleted
	// with the run.
	// +kubebuilder:validation:Type=string
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=64
	WorkflowRunUID types.UID `json:"workflowRunUID"`
	// Step is the gate's node; empty approves a pull request's run.
	// +kubebuilder:validation:MaxLength=512
	// +optional
	Step string `json:"step,omitempty"`
	// +kubebuilder:validation:Enum=approve;reject
	Decision string `json:"decision"`
	// HeadSHA pins a pull request approval to one head.
	// +kubebuilder:validation:MaxLength=64
	// +optional
	HeadSHA string `json:"headSHA,omitempty"`
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=255
	User string `json:"user"`
	// +kubebuilder:validation:MaxItems=64
	// +kubebuilder:validation:items:MaxLength=255
	// +optional
	Groups []string `json:"groups,omitempty"`
	// +kubebuilder:validation:MaxLength=1024
	// +optional
	Comment string `json:"comment,omitempty"`
}

// Approval records a decision on an approval gate or a pull request run.
// +kubebuilder:object:root=true
// +kubebuilder:resource:shortName=apr,categories=krt
// +kubebuilder:printcolumn:name="Run",type=string,JSONPath=`.spec.workflowRun`
// +kubebuilder:printcolumn:name="Step",type=string,JSONPath=`.spec.step`
// +kubebuilder:printcolumn:name="Decision",type=string,JSONPath=`.spec.decision`
// +kubebuilder:printcolumn:name="User",type=string,JSONPath=`.spec.user`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type Approval struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec ApprovalSpec `json:"spec"`
}

// ApprovalList is a list of Approvals.
// +kubebuilder:object:root=true
type ApprovalList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []Approval `json:"items"`
}

func init() {
	SchemeBuilder.Register(&Cluster{}, &ClusterList{}, &Approval{}, &ApprovalList{})
}
