package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// PushTrigger runs a workflow on a push to a followed branch.
type PushTrigger struct {
	// Branches the push must be to; any followed branch when empty.
	// +kubebuilder:validation:MaxItems=32
	// +kubebuilder:validation:items:MaxLength=255
	// +optional
	Branches []string `json:"branches,omitempty"`
	// Paths are globs ("apps/web/**"); the push must change a match.
	// +kubebuilder:validation:MaxItems=64
	// +kubebuilder:validation:items:MaxLength=1024
	// +optional
	Paths []string `json:"paths,omitempty"`
}

// PullRequestTrigger runs a workflow for pull requests.
type PullRequestTrigger struct {
	// Branches are the PR's base branches; any when empty.
	// +kubebuilder:validation:MaxItems=32
	// +kubebuilder:validation:items:MaxLength=255
	// +optional
	Branches []string `json:"branches,omitempty"`
	// Types are the PR actions: opened, synchronize, reopened.
	// +kubebuilder:validation:MaxItems=8
	// +kubebuilder:validation:items:Enum=opened;synchronize;reopened
	// +optional
	Types []string `json:"types,omitempty"`
}

// ScheduleTrigger runs a workflow on a cron schedule.
type ScheduleTrigger struct {
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=128
	Cron string `json:"cron"`
}

// ManualTrigger allows `krt wf trigger`.
type ManualTrigger struct{}

// Triggers are the events that start a WorkflowRun.
type Triggers struct {
	// +optional
	Push *PushTrigger `json:"push,omitempty"`
	// +optional
	PullRequest *PullRequestTrigger `json:"pullRequest,omitempty"`
	// +kubebuilder:validation:MaxItems=8
	// +optional
	Schedule []ScheduleTrigger `json:"schedule,omitempty"`
	// +optional
	Manual *ManualTrigger `json:"manual,omitempty"`
	// When is a CEL filter over `event`; the event starts a run only if it
	// is true.
	// +kubebuilder:validation:MaxLength=4096
	// +optional
	When string `json:"when,omitempty"`
}

// Param is a workflow input, with a default that may be an expression.
type Param struct {
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=128
	// +kubebuilder:validation:Pattern=`^[A-Za-z_][A-Za-z0-9_]*$`
	Name string `json:"name"`
	// +kubebuilder:validation:MaxLength=4096
	// +optional
	Default *string `json:"default,omitempty"`
	// +kubebuilder:validation:MaxLength=1024
	// +optional
	Description string `json:"description,omitempty"`
}

// Concurrency serialises runs in a group.
type Concurrency struct {
	// Group may use ${{ }} over event and params.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=512
	Group string `json:"group"`
	// CancelInProgress cancels the group's running run when a new one
	// starts; otherwise the new one waits.
	// +optional
	CancelInProgress bool `json:"cancelInProgress,omitempty"`
}

// ForEach expands a step into one node per item.
type ForEach struct {
	// Items may hold ${{ }} expressions.
	// +kubebuilder:validation:MinItems=1
	// +kubebuilder:validation:MaxItems=1000
	// +kubebuilder:validation:items:MaxLength=4096
	Items []string `json:"items"`
}

// StepRetries retries a failed step.
type StepRetries struct {
	// Limit is the number of retries after the first attempt.
	// +kubebuilder:validation:Minimum=0
	// +kubebuilder:validation:Maximum=19
	Limit int32 `json:"limit"`
	// +kubebuilder:validation:Type=string
	// +kubebuilder:validation:Pattern=`^([0-9]+(\.[0-9]+)?(ms|s|m|h))+$`
	// +optional
	Backoff *metav1.Duration `json:"backoff,omitempty"`
}

// ApprovalGate holds a step until an allowed person approves it.
type ApprovalGate struct {
	// Approvers are user names, or "group:<name>".
	// +kubebuilder:validation:MinItems=1
	// +kubebuilder:validation:MaxItems=64
	// +kubebuilder:validation:items:MaxLength=255
	Approvers []string `json:"approvers"`
	// +kubebuilder:validation:Type=string
	// +kubebuilder:validation:Pattern=`^([0-9]+(\.[0-9]+)?(ms|s|m|h))+$`
	// +optional
	Timeout *metav1.Duration `json:"timeout,omitempty"`
}

// Step is one node of a workflow's DAG: a script on a runtime, a Tool, or
// an approval gate.
type Step struct {
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=63
	// +kubebuilder:validation:Pattern=`^[a-z0-9]([-a-z0-9_]*[a-z0-9])?$`
	Name string `json:"name"`
	// Runtime runs the step; it may hold ${{ }}.
	// +kubebuilder:validation:MaxLength=253
	// +optional
	Runtime string `json:"runtime,omitempty"`
	// Cluster names a Cluster to run the step in; it may hold ${{ }}.
	// +kubebuilder:validation:MaxLength=253
	// +optional
	Cluster string `json:"cluster,omitempty"`
	// Runner names where the step runs, as the seed dialect's runner does:
	// a Cluster (on its default runtime), else a Runtime of the hub, else
	// "cluster/runtime". It may not be given with runtime or cluster.
	// +kubebuilder:validation:MaxLength=253
	// +optional
	Runner string `json:"runner,omitempty"`
	// Run is the script, with ${{ }} interpolation.
	// +kubebuilder:validation:MaxLength=262144
	// +optional
	Run string `json:"run,omitempty"`
	// +kubebuilder:validation:Enum=bash;python
	// +optional
	Language Language `json:"language,omitempty"`
	// Image runs the step on a Runtime of that image when it names no
	// runtime; a tool's image is used when the step has none.
	// +kubebuilder:validation:MaxLength=512
	// +optional
	Image string `json:"image,omitempty"`
	// Uses names a Tool; With gives its inputs.
	// +kubebuilder:validation:MaxLength=253
	// +optional
	Uses string `json:"uses,omitempty"`
	// +kubebuilder:validation:MaxProperties=128
	// +optional
	With map[string]string `json:"with,omitempty"`
	// +kubebuilder:validation:MaxProperties=256
	// +optional
	Env map[string]string `json:"env,omitempty"`
	// +kubebuilder:validation:MaxItems=64
	// +optional
	SecretEnv []SecretEnvVar `json:"secretEnv,omitempty"`
	// +kubebuilder:validation:MaxItems=256
	// +kubebuilder:validation:items:MaxLength=63
	// +optional
	Needs []string `json:"needs,omitempty"`
	// If is a CEL boolean; the step is skipped when false.
	// +kubebuilder:validation:MaxLength=4096
	// +optional
	If string `json:"if,omitempty"`
	// +optional
	ForEach *ForEach `json:"forEach,omitempty"`
	// Matrix expands the step over every combination; `item` is a map.
	// +kubebuilder:validation:MaxProperties=8
	// +optional
	Matrix map[string][]string `json:"matrix,omitempty"`
	// Outputs are the keys the step writes to $KRT_OUTPUTS.
	// +kubebuilder:validation:MaxItems=64
	// +kubebuilder:validation:items:MaxLength=128
	// +optional
	Outputs []string `json:"outputs,omitempty"`
	// +kubebuilder:validation:Type=string
	// +kubebuilder:validation:Pattern=`^([0-9]+(\.[0-9]+)?(ms|s|m|h))+$`
	// +optional
	Timeout *metav1.Duration `json:"timeout,omitempty"`
	// +optional
	Retries *StepRetries `json:"retries,omitempty"`
	// +optional
	Approval *ApprovalGate `json:"approval,omitempty"`
	// Artifacts are files the step hands on or takes in.
	// +optional
	Artifacts *StepArtifacts `json:"artifacts,omitempty"`
	// Cache restores paths before the step and saves them after a success.
	// +optional
	Cache *StepCache `json:"cache,omitempty"`
	// Memoize skips the step when an earlier success had the same script,
	// env, inputs and image, and reuses its outputs and artifacts.
	// +optional
	Memoize bool `json:"memoize,omitempty"`
}

// WorkflowSpec is a DAG of steps and the events that start it.
type WorkflowSpec struct {
	// +optional
	On Triggers `json:"on,omitempty"`
	// +kubebuilder:validation:MaxItems=64
	// +optional
	Params []Param `json:"params,omitempty"`
	// +optional
	Concurrency *Concurrency `json:"concurrency,omitempty"`
	// +kubebuilder:validation:MinItems=1
	// +kubebuilder:validation:MaxItems=2000
	Steps []Step `json:"steps"`
	// Finally steps run after the others, whatever became of them.
	// +kubebuilder:validation:MaxItems=32
	// +optional
	Finally []Step `json:"finally,omitempty"`
	// RunRetention says how long the workflow's finished runs are kept;
	// by default the 10 newest successful and the 10 newest failed.
	// +optional
	RunRetention *RunRetention `json:"runRetention,omitempty"`
}

// DefaultRunHistory is how many successful, and how many failed, finished
// runs of a workflow are kept when runRetention does not say.
const DefaultRunHistory = 10

// RunRetention bounds a workflow's finished runs. The trigger controller
// deletes the others; a deleted run of an event is never made again.
type RunRetention struct {
	// SuccessfulHistoryLimit is how many Succeeded runs are kept, newest
	// first; 10 if unset.
	// +kubebuilder:validation:Minimum=0
	// +kubebuilder:validation:Maximum=1000
	// +optional
	SuccessfulHistoryLimit *int32 `json:"successfulHistoryLimit,omitempty"`
	// FailedHistoryLimit is how many Failed or Cancelled runs are kept,
	// newest first; 10 if unset.
	// +kubebuilder:validation:Minimum=0
	// +kubebuilder:validation:Maximum=1000
	// +optional
	FailedHistoryLimit *int32 `json:"failedHistoryLimit,omitempty"`
	// TTLSecondsAfterFinished deletes a run this long after it finished,
	// whatever the limits keep.
	// +kubebuilder:validation:Minimum=0
	// +optional
	TTLSecondsAfterFinished *int32 `json:"ttlSecondsAfterFinished,omitempty"`
}

// WorkflowStatus is the workflow's own health.
type WorkflowStatus struct {
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`
	// +kubebuilder:validation:MaxItems=8
	// +listType=map
	// +listMapKey=type
	// +optional
	Conditions []metav1.Condition `json:"conditions,omitempty"`
	// LastRun names the newest WorkflowRun.
	// +kubebuilder:validation:MaxLength=253
	// +optional
	LastRun string `json:"lastRun,omitempty"`
	// HandledRuns name the runs the trigger made for the workflow's events,
	// oldest first: an event whose run is named here has run, and is not
	// run again when its run is deleted, by a user or by runRetention.
	// The oldest names of events no longer recorded go first when full.
	// +kubebuilder:validation:MaxItems=256
	// +kubebuilder:validation:items:MaxLength=253
	// +optional
	HandledRuns []string `json:"handledRuns,omitempty"`
}

// Workflow is a DAG of steps run on warm runtimes when its triggers fire.
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:shortName=wf,categories=krt
// +kubebuilder:printcolumn:name="Steps",type=integer,JSONPath=`.spec.steps.size()`,priority=1
// +kubebuilder:printcolumn:name="Revision",type=string,JSONPath=`.metadata.annotations.krt\.dev/revision`
// +kubebuilder:printcolumn:name="Last Run",type=string,JSONPath=`.status.lastRun`
// +kubebuilder:printcolumn:name="Ready",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].status`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type Workflow struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec   WorkflowSpec   `json:"spec,omitempty"`
	Status WorkflowStatus `json:"status,omitempty"`
}

// WorkflowList is a list of Workflows.
// +kubebuilder:object:root=true
type WorkflowList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []Workflow `json:"items"`
}

// ToolInput is an input of a Tool; it reaches the script as upper-cased
// env.
type ToolInput struct {
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=128
	// +kubebuilder:validation:Pattern=`^[A-Za-z_][A-Za-z0-9_]*$`
	Name string `json:"name"`
	// +optional
	Required bool `json:"required,omitempty"`
	// +kubebuilder:validation:MaxLength=4096
	// +optional
	Default *string `json:"default,omitempty"`
	// +kubebuilder:validation:MaxLength=1024
	// +optional
	Description string `json:"description,omitempty"`
}

// ToolSpec is a reusable, parameterised step.
type ToolSpec struct {
	// Language is bash (the default), python, or exec for command/args.
	// +kubebuilder:validation:Enum=bash;python;exec
	// +optional
	Language string `json:"language,omitempty"`
	// +kubebuilder:validation:MaxLength=262144
	// +optional
	Script string `json:"script,omitempty"`
	// +kubebuilder:validation:MaxItems=64
	// +kubebuilder:validation:items:MaxLength=4096
	// +optional
	Command []string `json:"command,omitempty"`
	// +kubebuilder:validation:MaxItems=256
	// +kubebuilder:validation:items:MaxLength=4096
	// +optional
	Args []string `json:"args,omitempty"`
	// +kubebuilder:validation:MaxItems=128
	// +optional
	Inputs []ToolInput `json:"inputs,omitempty"`
	// +kubebuilder:validation:MaxItems=64
	// +kubebuilder:validation:items:MaxLength=128
	// +optional
	Outputs []string `json:"outputs,omitempty"`
	// +kubebuilder:validation:MaxItems=64
	// +optional
	SecretEnv []SecretEnvVar `json:"secretEnv,omitempty"`
	// Runtime the tool needs; a step's own runtime wins otherwise.
	// +kubebuilder:validation:MaxLength=253
	// +optional
	Runtime string `json:"runtime,omitempty"`
	// Image is the image the tool runs in: a step using it runs on a
	// Runtime of that image, unless it names a runtime itself.
	// +kubebuilder:validation:MaxLength=512
	// +optional
	Image string `json:"image,omitempty"`
	// Environment is NAME=VALUE entries (files may also write a mapping).
	// A value /secrets/NAME is a secret file: its path when a volume
	// covers it, else the content of key NAME of the Secret NAME.
	// +kubebuilder:validation:MaxItems=128
	// +optional
	Environment Environment `json:"environment,omitempty"`
	// Volumes mount Secrets the Runtime allows as files.
	// +kubebuilder:validation:MaxItems=16
	// +optional
	Volumes []ToolVolume `json:"volumes,omitempty"`
}

// Tool is a reusable step, used by `uses:`.
// +kubebuilder:object:root=true
// +kubebuilder:resource:shortName=tool,categories=krt
// +kubebuilder:printcolumn:name="Language",type=string,JSONPath=`.spec.language`
// +kubebuilder:printcolumn:name="Runtime",type=string,JSONPath=`.spec.runtime`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type Tool struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec ToolSpec `json:"spec,omitempty"`
}

// ToolList is a list of Tools.
// +kubebuilder:object:root=true
type ToolList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []Tool `json:"items"`
}

// GetConditions lets fluxcd's conditions helpers read the workflow's.
func (w *Workflow) GetConditions() []metav1.Condition { return w.Status.Conditions }

// SetConditions lets fluxcd's conditions helpers set the workflow's.
func (w *Workflow) SetConditions(c []metav1.Condition) { w.Status.Conditions = c }

func init() {
	SchemeBuilder.Register(&Workflow{}, &WorkflowList{}, &Tool{}, &ToolList{})
}
