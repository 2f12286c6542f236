package v1alpha1

import (
	"github.com/fluxcd/pkg/apis/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// GitRef says which revision of a repository to follow. At most one of
// tag, semver and commit; a branch alone follows its head.
// +kubebuilder:validation:XValidation:rule="[has(self.tag), has(self.semver), has(self.commit)].filter(x, x).size() <= 1",message="set at most one of tag, semver and commit"
type GitRef struct {
	// +kubebuilder:validation:MaxLength=255
	// +optional
	Branch string `json:"branch,omitempty"`
	// +kubebuilder:validation:MaxLength=255
	// +optional
	Tag string `json:"tag,omitempty"`
	// SemVer is a range: the highest matching tag is followed.
	// +kubebuilder:validation:MaxLength=255
	// +optional
	SemVer string `json:"semver,omitempty"`
	// +kubebuilder:validation:Pattern=`^[0-9a-f]{7,64}$`
	// +optional
	Commit string `json:"commit,omitempty"`
}

// LocalObjectReference names an object in the same namespace.
type LocalObjectReference struct {
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	Name string `json:"name"`
}

// PullRequestPolicy says which pull requests run workflows, and whose.
type PullRequestPolicy struct {
	// +optional
	Enabled bool `json:"enabled,omitempty"`
	// Provider is where PRs come from: github and gitlab by webhook,
	// generic from refs/pull/*/head or refs/merge-requests/*/head.
	// +kubebuilder:validation:Enum=github;gitlab;generic
	// +kubebuilder:default=generic
	// +optional
	Provider string `json:"provider,omitempty"`
	// Branches are the base branches whose PRs count; all when empty.
	// +kubebuilder:validation:MaxItems=32
	// +kubebuilder:validation:items:MaxLength=255
	// +optional
	Branches []string `json:"branches,omitempty"`
	// AllowedAuthors are the users whose heads run without an approval:
	// a head is trusted when the user who made it the PR's head (opened,
	// pushed or reopened it, as the provider reports: status
	// pullRequests[].pushedBy) is listed and the head is in the base
	// repository, not a fork. Empty: with base definitions, every
	// same-repository head that a known user pushed; with
	// definitionsFrom: head, none.
	// +kubebuilder:validation:MaxItems=256
	// +kubebuilder:validation:items:MaxLength=255
	// +optional
	AllowedAuthors []string `json:"allowedAuthors,omitempty"`
	// Approvers may approve a PR that needs it: user names, or
	// "group:<name>" for a Kubernetes group.
	// +kubebuilder:validation:MaxItems=64
	// +kubebuilder:validation:items:MaxLength=255
	// +optional
	Approvers []string `json:"approvers,omitempty"`
	// DefinitionsFrom says whose workflow files run for a PR: the base
	// branch's (safe), or the PR head's.
	// +kubebuilder:validation:Enum=base;head
	// +kubebuilder:default=base
	// +optional
	DefinitionsFrom string `json:"definitionsFrom,omitempty"`
	// APIURL is the provider's API, for commit statuses: by default
	// https://api.github.com for github, https://<host>/api/v4 for gitlab.
	// +kubebuilder:validation:MaxLength=2048
	// +kubebuilder:validation:Pattern=`^https?://`
	// +optional
	APIURL string `json:"apiURL,omitempty"`
}

// SourceReference names a Flux source whose artifact is used instead of a
// clone.
type SourceReference struct {
	// +kubebuilder:validation:Enum=GitRepository;ExternalArtifact
	Kind string `json:"kind"`
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	Name string `json:"name"`
	// +kubebuilder:validation:MaxLength=63
	// +optional
	Namespace string `json:"namespace,omitempty"`
}

// WebhookSpec enables the receiver for a repository.
type WebhookSpec struct {
	// SecretRef names a Secret whose "token" key signs payloads and
	// derives the receiver's path.
	SecretRef LocalObjectReference `json:"secretRef"`
	// Provider is the only sender the receiver verifies for this
	// repository: github (X-Hub-Signature-256), gitlab (X-Gitlab-Token)
	// or generic (X-Signature). A request signed any other way is
	// refused. Unset: pullRequests.provider when that is github or
	// gitlab, else github.
	// +kubebuilder:validation:Enum=github;gitlab;generic
	// +optional
	Provider string `json:"provider,omitempty"`
}

// WorkflowRepositorySpec is where workflow files come from.
// +kubebuilder:validation:XValidation:rule="has(self.url) != has(self.sourceRef)",message="set exactly one of url and sourceRef"
// +kubebuilder:validation:XValidation:rule="!has(self.webhook) || !has(self.webhook.provider) || !has(self.pullRequests) || !has(self.pullRequests.provider) || self.pullRequests.provider == 'generic' || self.pullRequests.provider == self.webhook.provider",message="webhook.provider and pullRequests.provider name different providers"
type WorkflowRepositorySpec struct {
	// URL of the git repository: https://, http:// or ssh://.
	// +kubebuilder:validation:MaxLength=2048
	// +kubebuilder:validation:Pattern=`^(https?|ssh)://`
	// +optional
	URL string `json:"url,omitempty"`
	// SecretRef names a Secret with username/password, bearerToken, or
	// identity and known_hosts.
	// +optional
	SecretRef *LocalObjectReference `json:"secretRef,omitempty"`
	// +optional
	Ref *GitRef `json:"ref,omitempty"`
	// Path is the folder of workflow and tool files.
	// +kubebuilder:validation:MaxLength=1024
	// +kubebuilder:default="workflows/"
	// +optional
	Path string `json:"path,omitempty"`
	// Interval between checks for a new revision.
	// +kubebuilder:validation:Type=string
	// +kubebuilder:validation:Pattern=`^([0-9]+(\.[0-9]+)?(ms|s|m|h))+$`
	// +kubebuilder:default="1m"
	// +optional
	Interval metav1.Duration `json:"interval,omitempty"`
	// Timeout bounds one fetch.
	// +kubebuilder:validation:Type=string
	// +kubebuilder:validation:Pattern=`^([0-9]+(\.[0-9]+)?(ms|s|m|h))+$`
	// +kubebuilder:default="60s"
	// +optional
	Timeout *metav1.Duration `json:"timeout,omitempty"`
	// +optional
	Suspend bool `json:"suspend,omitempty"`
	// +optional
	PullRequests *PullRequestPolicy `json:"pullRequests,omitempty"`
	// SourceRef uses a Flux source's artifact instead of cloning URL.
	// +optional
	SourceRef *SourceReference `json:"sourceRef,omitempty"`
	// +optional
	Webhook *WebhookSpec `json:"webhook,omitempty"`
	// DefaultRuntime runs the steps of this repository's workflows that
	// name no runner or runtime (nor does their tool); when empty, the
	// namespace's krt.dev/default-runtime annotation, else "bash".
	// +kubebuilder:validation:MaxLength=253
	// +optional
	DefaultRuntime string `json:"defaultRuntime,omitempty"`
}

// Artifact is the revision the repository is at.
type Artifact struct {
	// Revision is "<branch>@sha1:<hash>", or "sha1:<hash>".
	// +kubebuilder:validation:MaxLength=512
	Revision string `json:"revision"`
	// +optional
	LastUpdateTime *metav1.Time `json:"lastUpdateTime,omitempty"`
}

// AppliedObject is a Workflow or Tool the repository produced.
type AppliedObject struct {
	// +kubebuilder:validation:MaxLength=32
	Kind string `json:"kind"`
	// +kubebuilder:validation:MaxLength=253
	Name string `json:"name"`
	// +kubebuilder:validation:MaxLength=1024
	File string `json:"file"`
	// Stale is set when the file no longer parses: the object keeps its
	// last good version.
	// +optional
	Stale bool `json:"stale,omitempty"`
}

// ParseError is what is wrong with one file.
type ParseError struct {
	// +kubebuilder:validation:MaxLength=1024
	File string `json:"file"`
	// +optional
	Line int32 `json:"line,omitempty"`
	// +kubebuilder:validation:MaxLength=512
	// +optional
	Field string `json:"field,omitempty"`
	// +kubebuilder:validation:MaxLength=2048
	Message string `json:"message"`
}

// PushEvent is a new revision of a followed branch, as the workflow
// controller needs it for on.push triggers.
type PushEvent struct {
	// +kubebuilder:validation:MaxLength=512
	Revision string `json:"revision"`
	// +kubebuilder:validation:MaxLength=512
	// +optional
	Before string `json:"before,omitempty"`
	// +kubebuilder:validation:MaxLength=255
	// +optional
	Branch string `json:"branch,omitempty"`
	// ChangedPaths are the files the push changed, up to 256.
	// +kubebuilder:validation:MaxItems=256
	// +kubebuilder:validation:items:MaxLength=1024
	// +optional
	ChangedPaths []string `json:"changedPaths,omitempty"`
	// PathsTruncated is set when more paths changed than are listed; a
	// paths filter then matches.
	// +optional
	PathsTruncated bool        `json:"pathsTruncated,omitempty"`
	Time           metav1.Time `json:"time"`
}

// PullRequest is an open PR as the webhook or discovery saw it.
type PullRequest struct {
	Number int64 `json:"number"`
	// +kubebuilder:validation:MaxLength=64
	HeadSHA string `json:"headSHA"`
	// +kubebuilder:validation:MaxLength=255
	// +optional
	HeadRef string `json:"headRef,omitempty"`
	// +kubebuilder:validation:MaxLength=255
	Base string `json:"base"`
	// Author opened the PR, when the provider says so. It is event data,
	// not trust: see pushedBy.
	// +kubebuilder:validation:MaxLength=255
	// +optional
	Author string `json:"author,omitempty"`
	// PushedBy is the user whose event made headSHA the PR's head: who
	// opened, pushed or reopened it (GitHub's sender, GitLab's user).
	// Trust follows it; an event that leaves the head alone (a label,
	// a title, a close) does not change it, and a head found without
	// one (generic discovery) has none.
	// +kubebuilder:validation:MaxLength=255
	// +optional
	PushedBy string `json:"pushedBy,omitempty"`
	// Fork is set when the head is in another repository than the base;
	// once set for a PR it stays set.
	// +optional
	Fork bool `json:"fork,omitempty"`
	// +optional
	Draft bool `json:"draft,omitempty"`
	// Action is the last event: opened, synchronize, reopened, closed.
	// +kubebuilder:validation:MaxLength=32
	// +optional
	Action string `json:"action,omitempty"`
	// +optional
	UpdatedAt metav1.Time `json:"updatedAt,omitempty"`
	// EventTime is when the provider says the PR last changed (its
	// updated_at, inside the signed body). An event older than it is
	// stale and changes nothing, so a replayed old delivery cannot
	// bring back an old head.
	// +optional
	EventTime metav1.Time `json:"eventTime,omitempty"`
}

// WebhookDelivery is a webhook the receiver acted on, kept so that a
// replay of it, to any replica, is refused.
type WebhookDelivery struct {
	// ID is a digest of the delivery: of its signed body for GitHub and
	// generic, of GitLab's Idempotency-Key or X-Gitlab-Event-UUID.
	// +kubebuilder:validation:MaxLength=64
	ID   string      `json:"id"`
	Time metav1.Time `json:"time"`
}

// WorkflowRepositoryStatus is what the source controller last did.
type WorkflowRepositoryStatus struct {
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`
	// +kubebuilder:validation:MaxItems=8
	// +listType=map
	// +listMapKey=type
	// +optional
	Conditions []metav1.Condition `json:"conditions,omitempty"`
	// +optional
	Artifact *Artifact `json:"artifact,omitempty"`
	// +kubebuilder:validation:MaxItems=1000
	// +optional
	Applied []AppliedObject `json:"applied,omitempty"`
	// +kubebuilder:validation:MaxItems=100
	// +optional
	ParseErrors []ParseError `json:"parseErrors,omitempty"`
	// Pushes are the latest new revisions, newest last.
	// +kubebuilder:validation:MaxItems=20
	// +optional
	Pushes []PushEvent `json:"pushes,omitempty"`
	// +kubebuilder:validation:MaxItems=200
	// +optional
	PullRequests []PullRequest `json:"pullRequests,omitempty"`
	// Deliveries are the webhooks acted on in the last 24 hours, newest
	// last, at most 256: a replay of one changes nothing.
	// +kubebuilder:validation:MaxItems=256
	// +optional
	Deliveries []WebhookDelivery `json:"deliveries,omitempty"`
	// HandledRuns name the runs the trigger made from pull request heads
	// (pullRequests.definitionsFrom: head), oldest first, as a Workflow's
	// status.handledRuns does for the runs of its own definition.
	// +kubebuilder:validation:MaxItems=512
	// +kubebuilder:validation:items:MaxLength=253
	// +optional
	HandledRuns []string `json:"handledRuns,omitempty"`
	// WebhookPath is where the receiver listens for this repository.
	// +kubebuilder:validation:MaxLength=255
	// +optional
	WebhookPath string `json:"webhookPath,omitempty"`

	meta.ReconcileRequestStatus `json:",inline"`
}

// WorkflowRepository is a git repository (or a Flux source) whose folder of
// workflow YAML becomes Workflow and Tool objects.
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:shortName=wrepo,categories=krt
// +kubebuilder:printcolumn:name="URL",type=string,JSONPath=`.spec.url`
// +kubebuilder:printcolumn:name="Revision",type=string,JSONPath=`.status.artifact.revision`
// +kubebuilder:printcolumn:name="Ready",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].status`
// +kubebuilder:printcolumn:name="Status",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].message`,priority=1
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type WorkflowRepository struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec   WorkflowRepositorySpec   `json:"spec,omitempty"`
	Status WorkflowRepositoryStatus `json:"status,omitempty"`
}

// WorkflowRepositoryList is a list of WorkflowRepositories.
// +kubebuilder:object:root=true
type WorkflowRepositoryList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []WorkflowRepository `json:"items"`
}

// GetConditions lets fluxcd's conditions helpers read the repository's.
func (r *WorkflowRepository) GetConditions() []metav1.Condition { return r.Status.Conditions }

// SetConditions lets fluxcd's conditions helpers set the repository's.
func (r *WorkflowRepository) SetConditions(c []metav1.Condition) { r.Status.Conditions = c }

// Condition types and annotations of the source controller.
const (
	ConditionFetchFailed = "FetchFailed"
	// AnnotationRevision on a Workflow or Tool is the revision at which it
	// last changed.
	AnnotationRevision = "krt.dev/revision"
	// AnnotationFile on a Workflow or Tool is the file it came from.
	AnnotationFile = "krt.dev/file"
	// AnnotationDigest on a Workflow or Tool sums its content, so an
	// unchanged object is not written again at a new revision.
	AnnotationDigest = "krt.dev/digest"
	// LabelRepository on a Workflow or Tool names its repository.
	LabelRepository = "krt.dev/repository"
)

func init() {
	SchemeBuilder.Register(&WorkflowRepository{}, &WorkflowRepositoryList{})
}
