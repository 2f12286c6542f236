package v1alpha1

import (
	"fmt"
	"slices"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
)

// DefaultRuntimeImage has bash and python3, so the built-in languages work
// without a custom image.
const DefaultRuntimeImage = "docker.io/library/python:3.13-slim"

// RuntimeSpec describes a warm pool of runtime pods.
// +kubebuilder:validation:XValidation:rule="!(has(self.autoscaling) && has(self.replicas))",message="spec.replicas and spec.autoscaling are exclusive: with autoscaling krt owns the replica count; remove spec.replicas (kubectl patch --type=json -p '[{\"op\":\"remove\",\"path\":\"/spec/replicas\"}]')"
type RuntimeSpec struct {
	// Image is the runtime container's image. krt-runtime is copied into it,
	// so any image with the interpreters the Runs need will do.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=512
	// +kubebuilder:default="docker.io/library/python:3.13-slim"
	// +optional
	Image string `json:"image,omitempty"`

	// Languages the image can run: bash, python, or both. The first one is
	// the default for Runs that do not name one.
	// +kubebuilder:validation:MinItems=1
	// +kubebuilder:validation:MaxItems=4
	// +kubebuilder:validation:items:MaxLength=32
	// +listType=set
	// +kubebuilder:default={bash,python}
	// +optional
	Languages []Language `json:"languages,omitempty"`

	// Replicas is the size of the warm pool, 2 when unset. It is what
	// `kubectl scale runtime`, an HPA or KEDA change, through the scale
	// subresource. It cannot be set together with autoscaling: then krt
	// owns the count (docs/security.md).
	// +kubebuilder:validation:Minimum=0
	// +kubebuilder:validation:Maximum=1000
	// +optional
	Replicas *int32 `json:"replicas,omitempty"`

	// Autoscaling lets krt size the pool from its Runs: enough pods for the
	// Runs that hold or wait for a slot, plus spare slots, within
	// minReplicas and maxReplicas. A pod is drained (no new Runs) before
	// it is removed.
	// +optional
	Autoscaling *RuntimeAutoscaling `json:"autoscaling,omitempty"`

	// Capacity is the number of Runs one pod executes at once, at least 1.
	// +kubebuilder:validation:Minimum=0
	// +kubebuilder:validation:Maximum=1000
	// +kubebuilder:default=4
	// +optional
	Capacity int32 `json:"capacity,omitempty"`

	// +optional
	Resources *corev1.ResourceRequirements `json:"resources,omitempty"`

	// RuntimedResources are the runtimed container's requests and limits,
	// 20m CPU and 48Mi memory requested and 256Mi memory at most when
	// empty. runtimed watches, claims and reports every Run of its pod, so
	// a busy pool on a crowded node wants more CPU than 20m guarantees.
	// +optional
	RuntimedResources *corev1.ResourceRequirements `json:"runtimedResources,omitempty"`

	// ServiceAccountName is the runtime pods' identity, krt-runtime-<name>
	// when empty. A Runtime may not borrow an account made for something
	// else: the name must start with krt-runtime-, so the admission
	// policies that hold runtimed to its own pod's Lease and Runs cover it,
	// and the account must carry the label krt.dev/runtime=<this Runtime>,
	// set by whoever may edit ServiceAccounts, to say it is meant for it.
	// +kubebuilder:validation:MaxLength=253
	// +kubebuilder:validation:XValidation:rule="self.startsWith('krt-runtime-')",message="serviceAccountName must start with krt-runtime-: a Runtime may only use a ServiceAccount made for krt runtimes (docs/security.md)"
	// +optional
	ServiceAccountName string `json:"serviceAccountName,omitempty"`

	// Secrets names the only Secrets that Runs on this runtime may read.
	// +kubebuilder:validation:MaxItems=64
	// +kubebuilder:validation:items:MaxLength=253
	// +listType=set
	// +optional
	Secrets []string `json:"secrets,omitempty"`

	// Isolation says what Runs on one pod may see of each other
	// (docs/security.md): shared runs up to capacity Runs side by side in
	// one pod, for trusted steps only; exclusive runs one Run at a time and
	// kills every leftover process and wipes the working area between
	// Runs; ephemeral gives each pod one Run and then replaces it, while
	// the rest of the pool stays warm. exclusive and ephemeral ignore
	// capacity: a pod takes one Run at a time.
	// +kubebuilder:validation:Enum=shared;exclusive;ephemeral
	// +kubebuilder:default=shared
	// +optional
	Isolation Isolation `json:"isolation,omitempty"`

	// AllowedWorkflows says which workflows may run on this Runtime, by
	// repository and by event. Empty: any Run may use it. Otherwise a Run
	// must match one entry, or it ends Failed with reason NotAdmitted and
	// never executes: a deploy pool that allows only push keeps
	// pull-request code away from its Secrets.
	// +kubebuilder:validation:MaxItems=32
	// +listType=atomic
	// +optional
	AllowedWorkflows []WorkflowSelector `json:"allowedWorkflows,omitempty"`

	// Network restricts the pods' egress. Without it egress is open; with
	// it, pods reach only what its rules allow, plus DNS and the API server
	// (which runtimed needs). Ingress is always closed except for runtimed's
	// log port, from pods in the same namespace.
	// +optional
	Network *RuntimeNetwork `json:"network,omitempty"`

	// ArtifactStore names an ArtifactStore in the Runtime's namespace: where
	// its Runs' artifacts, caches, memoized results and logs go. Runs that
	// declare artifacts fail with NoArtifactStore without it.
	// +kubebuilder:validation:MaxLength=253
	// +optional
	ArtifactStore string `json:"artifactStore,omitempty"`

	// Template shapes the pods beyond what krt sets: where they are
	// scheduled, extra volumes, sidecars, resources, or a Runtime Server of
	// your own. What krt owns (runtimed, security contexts, the token
	// rules) stays krt's; a template that would change it leaves the
	// Runtime Stalled with a message naming the field (docs/security.md).
	// +optional
	Template *RuntimePodTemplate `json:"template,omitempty"`
}

// RuntimeAutoscaling bounds and aims krt's sizing of a pool.
// +kubebuilder:validation:XValidation:rule="self.minReplicas <= self.maxReplicas",message="spec.autoscaling.minReplicas must not be more than spec.autoscaling.maxReplicas"
type RuntimeAutoscaling struct {
	// MinReplicas is the fewest pods kept, even when idle; 0 lets an idle
	// pool go away, and the first Run then waits for a pod to start.
	// +kubebuilder:validation:Minimum=0
	// +kubebuilder:validation:Maximum=1000
	// +kubebuilder:default=0
	// +optional
	MinReplicas int32 `json:"minReplicas"`
	// MaxReplicas is the most pods krt runs, draining ones included: the
	// bound on what the pool may take from the cluster.
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=1000
	MaxReplicas int32 `json:"maxReplicas"`
	// SpareSlots are free slots kept warm beyond the Runs that hold or
	// wait for one, so that the next Runs start at once.
	// +kubebuilder:validation:Minimum=0
	// +kubebuilder:validation:Maximum=10000
	// +optional
	SpareSlots int32 `json:"spareSlots,omitempty"`
	// TargetUtilization is the share of slots, in percent, that busy and
	// waiting Runs should fill; 100 when unset. With spareSlots too, the
	// larger pool of the two wins.
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=100
	// +optional
	TargetUtilization *int32 `json:"targetUtilization,omitempty"`
}

// FixedReplicas is the pool size without autoscaling: spec.replicas, 2
// when unset.
func (r *Runtime) FixedReplicas() int32 {
	if r.Spec.Replicas == nil {
		return 2
	}
	return *r.Spec.Replicas
}

// RuntimePodTemplate is an overlay on the pod krt builds for a Runtime.
type RuntimePodTemplate struct {
	// +optional
	Metadata RuntimePodMetadata `json:"metadata,omitempty"`

	// Spec is a strategic merge patch, as kubectl patch takes, on krt's
	// PodSpec: containers and volumes merge by name. It may set
	// nodeSelector, tolerations, affinity, topologySpreadConstraints,
	// imagePullSecrets, priorityClassName, runtimeClassName, volumes
	// (emptyDir, persistentVolumeClaim, ephemeral, configMap, downwardAPI,
	// projected configMaps) and containers. The container named runtime
	// gains mounts, env, probes and resources; given a command, it runs a
	// Runtime Server of your own instead of krt-runtime. Any other name
	// is a sidecar. The schema leaves it open, to stay small; krt checks
	// it against PodSpec, and refuses any other field and any patch
	// directive.
	// +kubebuilder:validation:Type=object
	// +kubebuilder:pruning:PreserveUnknownFields
	// +optional
	Spec *runtime.RawExtension `json:"spec,omitempty"`
}

// RuntimePodMetadata is added to the pods' own. krt's keys are krt's: the
// admission policies and the controller find runtime pods by them.
type RuntimePodMetadata struct {
	// +kubebuilder:validation:MaxProperties=32
	// +kubebuilder:validation:XValidation:rule="self.all(k, !k.startsWith('krt.dev/') && !(k in ['app.kubernetes.io/name', 'app.kubernetes.io/component', 'app.kubernetes.io/managed-by']))",message="krt.dev/ labels, and the app.kubernetes.io/ name, component and managed-by labels, are krt's: it finds runtime pods by them (docs/security.md)"
	// +optional
	Labels map[string]string `json:"labels,omitempty"`
	// +kubebuilder:validation:MaxProperties=32
	// +kubebuilder:validation:XValidation:rule="self.all(k, !k.startsWith('krt.dev/') && !k.startsWith('container.apparmor.security.beta.kubernetes.io/') && !k.startsWith('seccomp.security.alpha.kubernetes.io/'))",message="krt.dev/ annotations, and AppArmor and seccomp profiles, are krt's (docs/security.md)"
	// +optional
	Annotations map[string]string `json:"annotations,omitempty"`
}

// Isolation is how far Runs on one runtime pod are kept apart.
type Isolation string

const (
	// IsolationShared runs Runs side by side in one pod: trusted steps only.
	IsolationShared Isolation = "shared"
	// IsolationExclusive runs one Run at a time per pod, and cleans the pod
	// between Runs.
	IsolationExclusive Isolation = "exclusive"
	// IsolationEphemeral runs one Run per pod, then replaces the pod.
	IsolationEphemeral Isolation = "ephemeral"
)

// WorkflowSelector matches the Runs of some workflows: those of a
// WorkflowRepository, started by some kinds of event. An empty field
// matches anything.
type WorkflowSelector struct {
	// Repository names a WorkflowRepository in the Runtime's namespace.
	// +kubebuilder:validation:MaxLength=253
	// +optional
	Repository string `json:"repository,omitempty"`
	// Events are the kinds of event whose Runs may use the Runtime.
	// +kubebuilder:validation:MaxItems=4
	// +kubebuilder:validation:items:Enum=push;pullRequest;schedule;manual
	// +listType=set
	// +optional
	Events []string `json:"events,omitempty"`
}

// Mode is the Runtime's isolation, shared when unset.
func (r *Runtime) Mode() Isolation {
	if r.Spec.Isolation == "" {
		return IsolationShared
	}
	return r.Spec.Isolation
}

// PodCapacity is the number of Runs one pod takes at once: one unless
// the Runtime is shared.
func (r *Runtime) PodCapacity() int32 {
	if r.Mode() != IsolationShared {
		return 1
	}
	return r.Spec.Capacity
}

// RuntimeNetwork is the egress part of a Runtime's NetworkPolicy.
type RuntimeNetwork struct {
	// +kubebuilder:validation:MaxItems=32
	// +optional
	Egress []networkingv1.NetworkPolicyEgressRule `json:"egress,omitempty"`
}

// RuntimeStatus summarises the pool.
type RuntimeStatus struct {
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`
	// ReadyPods are Ready and hold a fresh heartbeat.
	// +optional
	ReadyPods int32 `json:"readyPods,omitempty"`
	// Capacity is the number of Run slots across ready pods.
	// +optional
	Capacity int32 `json:"capacity,omitempty"`
	// InUse is the number of Runs that hold a slot.
	// +optional
	InUse int32 `json:"inUse,omitempty"`
	// Pending is the number of Runs waiting for a slot.
	// +optional
	Pending int32 `json:"pending,omitempty"`
	// Replicas is the number of the pool's pods that are not being
	// deleted, draining ones included: the scale subresource's count.
	// +optional
	Replicas int32 `json:"replicas,omitempty"`
	// DesiredReplicas is the number of pods that take new Runs that krt
	// aims for: spec.replicas, or what autoscaling decided.
	// +optional
	DesiredReplicas int32 `json:"desiredReplicas,omitempty"`
	// Draining is the number of pods that take no new Runs and go once
	// their Runs end.
	// +optional
	Draining int32 `json:"draining,omitempty"`
	// Selector finds the pool's pods, for the scale subresource (an HPA
	// reads it).
	// +optional
	Selector string `json:"selector,omitempty"`
	// +kubebuilder:validation:MaxItems=8
	// +listType=map
	// +listMapKey=type
	// +optional
	Conditions []metav1.Condition `json:"conditions,omitempty"`
}

// Runtime is a pool of warm pods that execute Runs.
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:subresource:scale:specpath=.spec.replicas,statuspath=.status.replicas,selectorpath=.status.selector
// +kubebuilder:resource:shortName=rt,categories=krt
// +kubebuilder:printcolumn:name="Image",type=string,JSONPath=`.spec.image`,priority=1
// +kubebuilder:printcolumn:name="Isolation",type=string,JSONPath=`.spec.isolation`,priority=1
// +kubebuilder:printcolumn:name="Replicas",type=integer,JSONPath=`.status.replicas`
// +kubebuilder:printcolumn:name="Desired",type=integer,JSONPath=`.status.desiredReplicas`
// +kubebuilder:printcolumn:name="Max",type=integer,JSONPath=`.spec.autoscaling.maxReplicas`,priority=1
// +kubebuilder:printcolumn:name="Ready",type=integer,JSONPath=`.status.readyPods`
// +kubebuilder:printcolumn:name="Capacity",type=integer,JSONPath=`.status.capacity`
// +kubebuilder:printcolumn:name="InUse",type=integer,JSONPath=`.status.inUse`
// +kubebuilder:printcolumn:name="Pending",type=integer,JSONPath=`.status.pending`
// +kubebuilder:printcolumn:name="Status",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].status`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type Runtime struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec   RuntimeSpec   `json:"spec,omitempty"`
	Status RuntimeStatus `json:"status,omitempty"`
}

// RuntimeList is a list of Runtimes.
// +kubebuilder:object:root=true
type RuntimeList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []Runtime `json:"items"`
}

// DefaultLanguage is the language of a script Run that names none.
func (r *Runtime) DefaultLanguage() Language {
	if len(r.Spec.Languages) == 0 {
		return LanguageBash
	}
	return r.Spec.Languages[0]
}

func init() {
	SchemeBuilder.Register(&Runtime{}, &RuntimeList{})
}

// GetConditions lets fluxcd's conditions helpers read the Runtime's.
func (r *Runtime) GetConditions() []metav1.Condition { return r.Status.Conditions }

// SetConditions lets fluxcd's conditions helpers set the Runtime's.
func (r *Runtime) SetConditions(c []metav1.Condition) { r.Status.Conditions = c }

// Admits says whether a Run, by the labels the workflow engine gives it
// (its WorkflowRun's repository and event), may use this Runtime, and if
// not, why not.
func (r *Runtime) Admits(run *Run) (bool, string) {
	if len(r.Spec.AllowedWorkflows) == 0 {
		return true, ""
	}
	repo, event := run.Labels[LabelRepository], run.Labels[LabelEvent]
	for _, w := range r.Spec.AllowedWorkflows {
		if (w.Repository == "" || w.Repository == repo) && (len(w.Events) == 0 || slices.Contains(w.Events, event)) {
			return true, ""
		}
	}
	what := fmt.Sprintf("event %q of repository %q", event, repo)
	if event == "" {
		what = "a Run started by no workflow event"
	}
	return false, fmt.Sprintf("runtime %q admits only the workflows in its spec.allowedWorkflows, and not %s", r.Name, what)
}
