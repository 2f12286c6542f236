package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Event types that start a WorkflowRun.
const (
	EventPush        = "push"
	EventPullRequest = "pullRequest"
	EventSchedule    = "schedule"
	EventManual      = "manual"
)

// ScheduleEvent is a cron tick.
type ScheduleEvent struct {
	// +kubebuilder:validation:MaxLength=128
	Cron string      `json:"cron"`
	Time metav1.Time `json:"time"`
}

// ManualEvent is `krt wf trigger`.
type ManualEvent struct {
	// +kubebuilder:validation:MaxLength=255
	// +optional
	User string `json:"user,omitempty"`
}

// WorkflowEvent is what started a run, as `event` in expressions sees it.
type WorkflowEvent struct {
	// +kubebuilder:validation:Enum=push;pullRequest;schedule;manual
	Type string `json:"type"`
	// +optional
	Push *PushEvent `json:"push,omitempty"`
	// +optional
	PullRequest *PullRequest `json:"pullRequest,omitempty"`
	// +optional
	Schedule *ScheduleEvent `json:"schedule,omitempty"`
	// +optional
	Manual *ManualEvent `json:"manual,omitempty"`
}

// NamedTool is a Tool as a run found it when it started.
type NamedTool struct {
	// +kubebuilder:validation:MaxLength=253
	Name string   `json:"name"`
	Spec ToolSpec `json:"spec"`
}

// WorkflowRunSpec is one execution of a workflow: its definition and tools
// as they were when the event came, so later changes do not touch it.
// It is immutable once created but for cancelRequested, which may be set
// and never unset, and cancelledBy, which may be set once: the engine
// re-reads approvers and scripts from it on every pass, and patch on
// WorkflowRuns (which cancelling needs) must not let anyone rewrite them.
// The admission policy krt-workflowrun-spec (config/policy) holds it so,
// not a CRD rule: a CRD's transition rule is evaluated on status writes
// too, comparing the whole definition on every patch the engine makes.
type WorkflowRunSpec struct {
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	Workflow string `json:"workflow"`
	// +kubebuilder:validation:MaxLength=512
	// +optional
	Revision string        `json:"revision,omitempty"`
	Event    WorkflowEvent `json:"event"`
	// +kubebuilder:validation:MaxProperties=64
	// +optional
	Params map[string]string `json:"params,omitempty"`
	// Definition is the workflow's spec when the run started.
	Definition WorkflowSpec `json:"definition"`
	// +kubebuilder:validation:MaxItems=64
	// +optional
	Tools []NamedTool `json:"tools,omitempty"`
	// +optional
	CancelRequested bool `json:"cancelRequested,omitempty"`
	// CancelledBy is who set cancelRequested, as the API server
	// authenticated them: the admission policy krt-workflowrun-audit
	// refuses a cancel without it, or in another name. Set once.
	// +kubebuilder:validation:MaxLength=255
	// +optional
	CancelledBy string `json:"cancelledBy,omitempty"`
	// TriggeredBy is who created the run, as the API server authenticated
	// them (the trigger controller's own account for a push, a pull
	// request or a schedule): the admission policy krt-workflowrun-audit
	// refuses any other name. A run without it has no known creator.
	// +kubebuilder:validation:MaxLength=255
	// +optional
	TriggeredBy string `json:"triggeredBy,omitempty"`
	// RerunOf names the run this one repeats (`krt wf rerun`).
	// +kubebuilder:validation:MaxLength=253
	// +optional
	RerunOf string `json:"rerunOf,omitempty"`
	// RequireApproval holds the run in AwaitingApproval until an Approval
	// for its pull request's head SHA: set by the trigger for a head it
	// does not trust (a fork, a head pushed by a user outside
	// allowedAuthors or by no known user, any head defining its own
	// workflows when allowedAuthors is empty).
	// +optional
	RequireApproval bool `json:"requireApproval,omitempty"`
	// ConcurrencyGroup is the workflow's concurrency.group, resolved when
	// the run was triggered. Runs in one group run one at a time.
	// +kubebuilder:validation:MaxLength=512
	// +optional
	ConcurrencyGroup string `json:"concurrencyGroup,omitempty"`
	// CancelInProgress cancels the group's older runs when this one starts;
	// otherwise it waits in Pending for them.
	// +optional
	CancelInProgress bool `json:"cancelInProgress,omitempty"`
}

// WorkflowRunPhase is where a run is.
// +kubebuilder:validation:Enum=Pending;AwaitingApproval;Running;Succeeded;Failed;Cancelled
type WorkflowRunPhase string

const (
	WorkflowPending          WorkflowRunPhase = "Pending"
	WorkflowAwaitingApproval WorkflowRunPhase = "AwaitingApproval"
	WorkflowRunning          WorkflowRunPhase = "Running"
	WorkflowSucceeded        WorkflowRunPhase = "Succeeded"
	WorkflowFailed           WorkflowRunPhase = "Failed"
	WorkflowCancelled        WorkflowRunPhase = "Cancelled"
)

// Terminal reports whether the run has ended.
func (p WorkflowRunPhase) Terminal() bool {
	return p == WorkflowSucceeded || p == WorkflowFailed || p == WorkflowCancelled
}

// NodePhase is where one node of the DAG is.
type NodePhase string

const (
	NodePending   NodePhase = "Pending"
	NodeWaiting   NodePhase = "Waiting" // for an approval, a cluster, or its backoff
	NodeRunning   NodePhase = "Running"
	NodeSucceeded NodePhase = "Succeeded"
	NodeFailed    NodePhase = "Failed"
	NodeSkipped   NodePhase = "Skipped"
	NodeCancelled NodePhase = "Cancelled"
)

// Done reports whether the node will not change again.
func (p NodePhase) Done() bool {
	return p == NodeSucceeded || p == NodeFailed || p == NodeSkipped || p == NodeCancelled
}

// NodeStatus is one node of a run: a step, or one item of a step's forEach
// or matrix. It is kept compact so thousands fit in one object.
type NodeStatus struct {
	// Name is the step's, with "[item]" for an expanded item.
	// +kubebuilder:validation:MaxLength=512
	Name string `json:"name"`
	// +kubebuilder:validation:MaxLength=16
	Phase NodePhase `json:"phase"`
	// +kubebuilder:validation:MaxLength=253
	// +optional
	Cluster string `json:"cluster,omitempty"`
	// Run is the Run executing the node, in Cluster's namespace there.
	// +kubebuilder:validation:MaxLength=253
	// +optional
	Run string `json:"run,omitempty"`
	// Runtime is the Runtime the Run was made for, as the engine resolved
	// it (an expression, a tool's, the default): once the Run is deleted,
	// its Runtime's ArtifactStore still holds its log and artifacts.
	// +kubebuilder:validation:MaxLength=253
	// +optional
	Runtime string `json:"runtime,omitempty"`
	// +optional
	Attempt int32 `json:"attempt,omitempty"`
	// +kubebuilder:validation:MaxProperties=64
	// +optional
	Outputs map[string]string `json:"outputs,omitempty"`
	// +optional
	Started *metav1.Time `json:"started,omitempty"`
	// +optional
	Finished *metav1.Time `json:"finished,omitempty"`
	// +kubebuilder:validation:MaxLength=1024
	// +optional
	Message string `json:"message,omitempty"`
	// +kubebuilder:validation:MaxItems=32
	// +optional
	Artifacts []ArtifactRef `json:"artifacts,omitempty"`
	// +optional
	CacheHit bool `json:"cacheHit,omitempty"`
	// +optional
	Memoized bool `json:"memoized,omitempty"`
	// ApprovedBy is who decided an approval gate.
	// +kubebuilder:validation:MaxLength=255
	// +optional
	ApprovedBy string `json:"approvedBy,omitempty"`
	// NextTry holds a node back: a retry's backoff, an unreachable cluster.
	// +optional
	NextTry *metav1.Time `json:"nextTry,omitempty"`
}

// Audit actions, as status.history spells them.
const (
	AuditTrigger = "trigger"
	AuditRerun   = "rerun"
	AuditApprove = "approve"
	AuditReject  = "reject"
	AuditCancel  = "cancel"
)

// MaxHistory is status.history's MaxItems, which must say the same.
const MaxHistory = 64

// AuditEntry is one thing someone did to a run. User is as the API server
// authenticated them (admission checks the fields it comes from); empty
// when the run does not say.
type AuditEntry struct {
	// +kubebuilder:validation:Enum=trigger;rerun;approve;reject;cancel
	Action string `json:"action"`
	// +kubebuilder:validation:MaxLength=255
	// +optional
	User string      `json:"user,omitempty"`
	Time metav1.Time `json:"time"`
	// +kubebuilder:validation:MaxLength=512
	// +optional
	Detail string `json:"detail,omitempty"`
	// Approval names the Approval behind an approve or reject.
	// +kubebuilder:validation:MaxLength=253
	// +optional
	Approval string `json:"approval,omitempty"`
}

// MaxNodes is how many nodes one run may have; it is status.nodes'
// MaxItems, which must say the same.
const MaxNodes = 4000

// WorkflowRunStatus is the run's progress.
type WorkflowRunStatus struct {
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`
	// +optional
	Phase WorkflowRunPhase `json:"phase,omitempty"`
	// +optional
	StartTime *metav1.Time `json:"startTime,omitempty"`
	// +optional
	CompletionTime *metav1.Time `json:"completionTime,omitempty"`
	// +kubebuilder:validation:MaxItems=4000
	// +optional
	Nodes []NodeStatus `json:"nodes,omitempty"`
	// ApprovedBy is who let a pull request's run go ahead, for its head.
	// +kubebuilder:validation:MaxLength=255
	// +optional
	ApprovedBy string `json:"approvedBy,omitempty"`
	// +kubebuilder:validation:MaxLength=4096
	// +optional
	Message string `json:"message,omitempty"`
	// History is the run's audit trail: who triggered, approved, rejected
	// or cancelled it, and when, in the order the controller saw it. It
	// holds at most MaxHistory entries: the trigger, the cancel and the
	// first MaxHistory-2 decisions; historyOmitted counts the decisions
	// past that, which still get their Event and audit log line.
	// +kubebuilder:validation:MaxItems=64
	// +optional
	History []AuditEntry `json:"history,omitempty"`
	// HistoryOmitted counts the decisions left out of a full history.
	// +optional
	HistoryOmitted int32 `json:"historyOmitted,omitempty"`
	// +kubebuilder:validation:MaxItems=8
	// +listType=map
	// +listMapKey=type
	// +optional
	Conditions []metav1.Condition `json:"conditions,omitempty"`
}

// WorkflowRun is one execution of a Workflow.
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:shortName=wfr,categories=krt
// +kubebuilder:printcolumn:name="Workflow",type=string,JSONPath=`.spec.workflow`
// +kubebuilder:printcolumn:name="Event",type=string,JSONPath=`.spec.event.type`
// +kubebuilder:printcolumn:name="Phase",type=string,JSONPath=`.status.phase`
// +kubebuilder:printcolumn:name="Revision",type=string,JSONPath=`.spec.revision`,priority=1
// +kubebuilder:printcolumn:name="Message",type=string,JSONPath=`.status.message`,priority=1
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type WorkflowRun struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec   WorkflowRunSpec   `json:"spec"`
	Status WorkflowRunStatus `json:"status,omitempty"`
}

// WorkflowRunList is a list of WorkflowRuns.
// +kubebuilder:object:root=true
type WorkflowRunList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []WorkflowRun `json:"items"`
}

// GetConditions lets fluxcd's conditions helpers read the run's.
func (w *WorkflowRun) GetConditions() []metav1.Condition { return w.Status.Conditions }

// SetConditions lets fluxcd's conditions helpers set the run's.
func (w *WorkflowRun) SetConditions(c []metav1.Condition) { w.Status.Conditions = c }

// Labels on the Runs a WorkflowRun creates, in any cluster.
const (
	LabelWorkflowRun = "krt.dev/workflow-run"
	LabelNode        = "krt.dev/node"
	// AnnotationOrigin on a Run in a remote cluster names its WorkflowRun
	// as namespace/name in the hub.
	AnnotationOrigin = "krt.dev/origin"
	// AnnotationQueuedAt on a WorkflowRun is when it was made, to the
	// nanosecond (RFC 3339): creationTimestamp has whole seconds, and a
	// concurrency group must know which of two runs in one second is
	// newer.
	AnnotationQueuedAt = "krt.dev/queued-at"
	// AnnotationDefinitionError on a WorkflowRun says its definition cannot
	// run, and why (a pull request head that does not validate): the
	// engine ends such a run Failed before it starts.
	AnnotationDefinitionError = "krt.dev/definition-error"
	// AnnotationNode is the node's full name: the label is cut to fit.
	AnnotationNode = "krt.dev/node"
	// AnnotationTraceparent on a Run is the W3C traceparent of its node's
	// span in the WorkflowRun's trace, derived from the run's UID: spans
	// about the Run, in whatever cluster, join that trace with it.
	AnnotationTraceparent = "krt.dev/traceparent"
)

func init() {
	SchemeBuilder.Register(&WorkflowRun{}, &WorkflowRunList{})
}
