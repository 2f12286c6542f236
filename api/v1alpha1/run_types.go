package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
)

// Language says how a Runtime Server executes a script.
type Language string

const (
	LanguageBash   Language = "bash"
	LanguagePython Language = "python"
)

// EnvVar is one environment variable given to a Run. Run env wins over the
// runtime container's own env.
type EnvVar struct {
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=128
	// +kubebuilder:validation:Pattern=`^[A-Za-z_][A-Za-z0-9_]*$`
	Name string `json:"name"`
	// +kubebuilder:validation:MaxLength=65536
	// +optional
	Value string `json:"value,omitempty"`
}

// SecretKeySelector names one key of a Secret in the Run's namespace.
type SecretKeySelector struct {
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	// +kubebuilder:validation:Pattern=`^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$`
	Name string `json:"name"`
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	// +kubebuilder:validation:Pattern=`^[-._a-zA-Z0-9]+$`
	Key string `json:"key"`
}

// SecretEnvVar is an environment variable whose value comes from a Secret.
// runtimed masks the value wherever it would appear in logs or outputs.
type SecretEnvVar struct {
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=128
	// +kubebuilder:validation:Pattern=`^[A-Za-z_][A-Za-z0-9_]*$`
	Name         string            `json:"name"`
	SecretKeyRef SecretKeySelector `json:"secretKeyRef"`
}

// RetryPolicy says how often a Run is attempted and how long to wait between
// attempts. The wait doubles with each attempt, up to maxBackoff.
type RetryPolicy struct {
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=20
	// +kubebuilder:default=1
	// +optional
	MaxAttempts int32 `json:"maxAttempts,omitempty"`
	// +kubebuilder:validation:Type=string
	// +kubebuilder:validation:Pattern=`^([0-9]+(\.[0-9]+)?(ms|s|m|h))+$`
	// +optional
	Backoff *metav1.Duration `json:"backoff,omitempty"`
	// +kubebuilder:validation:Type=string
	// +kubebuilder:validation:Pattern=`^([0-9]+(\.[0-9]+)?(ms|s|m|h))+$`
	// +optional
	MaxBackoff *metav1.Duration `json:"maxBackoff,omitempty"`
}

// RunSpec is what to execute and where. It is immutable once created, except
// that cancelRequested may be set (and never unset) and the TTL may change.
// +kubebuilder:validation:XValidation:rule="has(self.script) != has(self.command)",message="exactly one of script or command must be set"
// +kubebuilder:validation:XValidation:rule="!has(self.args) || has(self.command)",message="args needs command"
// +kubebuilder:validation:XValidation:rule="!has(self.language) || has(self.script)",message="language applies to script only"
// +kubebuilder:validation:XValidation:rule="!(has(self.cache) || (has(self.memoize) && self.memoize)) || has(self.scope)",message="cache and memoize need scope"
// The admission policy krt-run-spec (config/policy) holds it so: a CRD
// transition rule would be evaluated on every status write too.
type RunSpec struct {
	// Runtime names the Runtime, in the Run's namespace, whose warm pods
	// execute this Run.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=63
	// +kubebuilder:validation:Pattern=`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`
	Runtime string `json:"runtime"`

	// Language of script. Defaults to the Runtime's first language.
	// +kubebuilder:validation:Enum=bash;python
	// +optional
	Language Language `json:"language,omitempty"`

	// Script is executed by the runtime's bash or python3.
	// +kubebuilder:validation:MaxLength=262144
	// +optional
	Script string `json:"script,omitempty"`

	// Command is executed directly, without a shell.
	// +kubebuilder:validation:MinItems=1
	// +kubebuilder:validation:MaxItems=64
	// +kubebuilder:validation:items:MaxLength=4096
	// +optional
	Command []string `json:"command,omitempty"`

	// +kubebuilder:validation:MaxItems=256
	// +kubebuilder:validation:items:MaxLength=65536
	// +optional
	Args []string `json:"args,omitempty"`

	// +kubebuilder:validation:MaxItems=256
	// +listType=map
	// +listMapKey=name
	// +optional
	Env []EnvVar `json:"env,omitempty"`

	// SecretEnv values are read by runtimed from Secrets the Runtime allows,
	// and masked in logs and outputs.
	// +kubebuilder:validation:MaxItems=64
	// +listType=map
	// +listMapKey=name
	// +optional
	SecretEnv []SecretEnvVar `json:"secretEnv,omitempty"`

	// SecretFiles are Secrets whose keys runtimed writes as files, mode
	// 0400, in a directory private to the Run ($KRT_SECRETS_DIR), masked in
	// logs and outputs like secretEnv.
	// +kubebuilder:validation:MaxItems=16
	// +listType=map
	// +listMapKey=name
	// +optional
	SecretFiles []SecretFile `json:"secretFiles,omitempty"`

	// Timeout bounds one attempt. The whole process group is killed when it
	// passes, and the Run ends as Timeout.
	// +kubebuilder:validation:Type=string
	// +kubebuilder:validation:Pattern=`^([0-9]+(\.[0-9]+)?(ms|s|m|h))+$`
	// +optional
	Timeout *metav1.Duration `json:"timeout,omitempty"`

	// +optional
	RetryPolicy *RetryPolicy `json:"retryPolicy,omitempty"`

	// CancelRequested asks for the Run to be stopped. Once true it stays true.
	// +optional
	CancelRequested bool `json:"cancelRequested,omitempty"`

	// TTLSecondsAfterFinished deletes the Run this long after it finished.
	// +kubebuilder:validation:Minimum=0
	// +optional
	TTLSecondsAfterFinished *int32 `json:"ttlSecondsAfterFinished,omitempty"`

	// Artifacts are files runtimed brings in before the script and takes
	// away after it, through the Runtime's ArtifactStore.
	// +optional
	Artifacts *RunArtifacts `json:"artifacts,omitempty"`

	// Cache restores paths before the script and saves them after a
	// success.
	// +optional
	Cache *RunCache `json:"cache,omitempty"`

	// Memoize reuses the outputs and artifacts of an earlier success with
	// the same script, command, env, inputs and image, without running.
	// +optional
	Memoize bool `json:"memoize,omitempty"`

	// Scope is where Cache and Memoize read and write.
	// +optional
	Scope *RunScope `json:"scope,omitempty"`
}

// RunStatus is the compact record of one Run. Full logs never live here.
type RunStatus struct {
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`

	// +optional
	Phase RunPhase `json:"phase,omitempty"`

	// AssignedPod is the runtime pod that executes the current attempt. It
	// is a selectable field, so each runtimed watches only its own Runs.
	// +kubebuilder:validation:MaxLength=253
	// +optional
	AssignedPod string `json:"assignedPod,omitempty"`

	// AssignedPodUID fences a replaced pod of the same name.
	// +kubebuilder:validation:Type=string
	// +kubebuilder:validation:MaxLength=64
	// +optional
	AssignedPodUID types.UID `json:"assignedPodUID,omitempty"`

	// Attempt counts from 1. An attempt that provably never started (it
	// was assigned but never claimed) is retried under the same number.
	// +optional
	Attempt int32 `json:"attempt,omitempty"`

	// ScheduledTime is when the current attempt was assigned to its pod.
	// +optional
	ScheduledTime *metav1.MicroTime `json:"scheduledTime,omitempty"`

	// NotBefore holds a retried Run back until its backoff has passed.
	// +optional
	NotBefore *metav1.MicroTime `json:"notBefore,omitempty"`

	// +optional
	StartTime *metav1.Time `json:"startTime,omitempty"`
	// +optional
	CompletionTime *metav1.Time `json:"completionTime,omitempty"`
	// +optional
	ExitCode *int32 `json:"exitCode,omitempty"`

	// Outputs are the key=value pairs the step wrote to $KRT_OUTPUTS:
	// at most 64 keys and 64 KiB in all.
	// +kubebuilder:validation:MaxProperties=64
	// +optional
	Outputs map[string]string `json:"outputs,omitempty"`

	// Artifacts are the outputs runtimed uploaded, content-addressed.
	// +kubebuilder:validation:MaxItems=32
	// +listType=map
	// +listMapKey=name
	// +optional
	Artifacts []ArtifactRef `json:"artifacts,omitempty"`

	// CacheHit is true when spec.cache was restored from the store.
	// +optional
	CacheHit bool `json:"cacheHit,omitempty"`

	// Memoized is true when the Run did not execute: it took the outputs
	// and artifacts of an earlier success with the same inputs.
	// +optional
	Memoized bool `json:"memoized,omitempty"`

	// Reason is a CamelCase word for why the Run is in its phase.
	// +kubebuilder:validation:MaxLength=64
	// +optional
	Reason string `json:"reason,omitempty"`

	// Message is human readable; for a failed Run it ends with the tail of
	// stderr.
	// +kubebuilder:validation:MaxLength=4096
	// +optional
	Message string `json:"message,omitempty"`

	// +kubebuilder:validation:MaxItems=8
	// +listType=map
	// +listMapKey=type
	// +optional
	Conditions []metav1.Condition `json:"conditions,omitempty"`
}

// Run executes one step on a warm runtime pod.
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:shortName=run,categories=krt
// +kubebuilder:selectablefield:JSONPath=`.status.assignedPod`
// +kubebuilder:printcolumn:name="Runtime",type=string,JSONPath=`.spec.runtime`
// +kubebuilder:printcolumn:name="Phase",type=string,JSONPath=`.status.phase`
// +kubebuilder:printcolumn:name="Exit",type=integer,JSONPath=`.status.exitCode`
// +kubebuilder:printcolumn:name="Pod",type=string,JSONPath=`.status.assignedPod`,priority=1
// +kubebuilder:printcolumn:name="Attempt",type=integer,JSONPath=`.status.attempt`,priority=1
// +kubebuilder:printcolumn:name="Reason",type=string,JSONPath=`.status.reason`,priority=1
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type Run struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec   RunSpec   `json:"spec"`
	Status RunStatus `json:"status,omitempty"`
}

// RunList is a list of Runs.
// +kubebuilder:object:root=true
type RunList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []Run `json:"items"`
}

func init() {
	SchemeBuilder.Register(&Run{}, &RunList{})
}
