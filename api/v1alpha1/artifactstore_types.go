package v1alpha1

import (
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// ArtifactStoreSpec says where a namespace's artifacts, step caches,
// memoized results and archived logs live. A hub and a prod cluster reach
// one bucket each with an ArtifactStore of their own, and their own keys.
// +kubebuilder:validation:XValidation:rule="has(self.filesystem) != has(self.s3)",message="exactly one of filesystem or s3 must be set"
type ArtifactStoreSpec struct {
	// Filesystem is a directory: the dev stack's default, or an RWX volume
	// that every runtime pod mounts.
	// +optional
	Filesystem *FilesystemStore `json:"filesystem,omitempty"`

	// S3 is S3-compatible object storage: AWS S3, GCS interop, MinIO,
	// Ceph, versitygw.
	// +optional
	S3 *S3Store `json:"s3,omitempty"`

	// +optional
	Limits ArtifactLimits `json:"limits,omitempty"`

	// +optional
	Retention ArtifactRetention `json:"retention,omitempty"`
}

// FilesystemStore is a directory as seen by runtimed.
type FilesystemStore struct {
	// Path is absolute. In a cluster it is where ClaimName is mounted in
	// runtimed's container.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=1024
	// +kubebuilder:validation:Pattern=`^/`
	Path string `json:"path"`

	// ClaimName is a PersistentVolumeClaim (ReadWriteMany, for more than
	// one pod) in the Runtime's namespace that krt mounts at Path in
	// runtimed's container. Without it, Path must already exist where
	// runtimed runs, as in the dev stack.
	// +kubebuilder:validation:MaxLength=253
	// +optional
	ClaimName string `json:"claimName,omitempty"`
}

// S3Store is a bucket and where to reach it.
type S3Store struct {
	// +kubebuilder:validation:MinLength=3
	// +kubebuilder:validation:MaxLength=63
	Bucket string `json:"bucket"`

	// Endpoint is the service URL for anything but AWS, such as
	// https://minio.example:9000.
	// +kubebuilder:validation:MaxLength=1024
	// +kubebuilder:validation:Pattern=`^https?://`
	// +optional
	Endpoint string `json:"endpoint,omitempty"`

	// +kubebuilder:validation:MaxLength=64
	// +kubebuilder:default=us-east-1
	// +optional
	Region string `json:"region,omitempty"`

	// Prefix keeps krt's objects under one folder of the bucket.
	// +kubebuilder:validation:MaxLength=256
	// +kubebuilder:validation:Pattern=`^[a-zA-Z0-9._/-]*$`
	// +optional
	Prefix string `json:"prefix,omitempty"`

	// ForcePathStyle addresses the bucket in the path, as MinIO and most
	// self-hosted servers need.
	// +optional
	ForcePathStyle bool `json:"forcePathStyle,omitempty"`

	// CredentialsSecret names a Secret in the store's namespace holding
	// AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (and optionally
	// AWS_SESSION_TOKEN). runtimed reads it; step scripts never see it.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	CredentialsSecret string `json:"credentialsSecret"`
}

// ArtifactLimits bound what one step may put in the store.
type ArtifactLimits struct {
	// MaxArtifactSize bounds one artifact, uncompressed; 1Gi when unset.
	// +optional
	MaxArtifactSize *resource.Quantity `json:"maxArtifactSize,omitempty"`
	// MaxRunSize bounds the artifacts of one Run together, and a cache's
	// paths; 4Gi when unset.
	// +optional
	MaxRunSize *resource.Quantity `json:"maxRunSize,omitempty"`
}

// ArtifactRetention says how long the maintainer keeps what is in the
// store. Artifacts and logs of WorkflowRuns that are gone go sooner.
type ArtifactRetention struct {
	// Artifacts: 168h (a week) when unset.
	// +kubebuilder:validation:Type=string
	// +kubebuilder:validation:Pattern=`^([0-9]+(\.[0-9]+)?(ms|s|m|h))+$`
	// +optional
	Artifacts *metav1.Duration `json:"artifacts,omitempty"`
	// Caches, step caches and memoized results: 168h when unset.
	// +kubebuilder:validation:Type=string
	// +kubebuilder:validation:Pattern=`^([0-9]+(\.[0-9]+)?(ms|s|m|h))+$`
	// +optional
	Caches *metav1.Duration `json:"caches,omitempty"`
	// Logs: 720h (30 days) when unset.
	// +kubebuilder:validation:Type=string
	// +kubebuilder:validation:Pattern=`^([0-9]+(\.[0-9]+)?(ms|s|m|h))+$`
	// +optional
	Logs *metav1.Duration `json:"logs,omitempty"`
}

// ArtifactStoreStatus is what the maintainer last found.
type ArtifactStoreStatus struct {
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`
	// LastSweep is when the maintainer last finished a pass.
	// +optional
	LastSweep *metav1.Time `json:"lastSweep,omitempty"`
	// Deleted counts objects the last pass removed.
	// +optional
	Deleted int64 `json:"deleted,omitempty"`
	// +kubebuilder:validation:MaxItems=8
	// +listType=map
	// +listMapKey=type
	// +optional
	Conditions []metav1.Condition `json:"conditions,omitempty"`
}

// ArtifactStore is where the Runtimes that name it keep files between
// steps.
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:shortName=as,categories=krt
// +kubebuilder:printcolumn:name="Ready",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].status`
// +kubebuilder:printcolumn:name="Last sweep",type=date,JSONPath=`.status.lastSweep`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type ArtifactStore struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec   ArtifactStoreSpec   `json:"spec"`
	Status ArtifactStoreStatus `json:"status,omitempty"`
}

// ArtifactStoreList is a list of ArtifactStores.
// +kubebuilder:object:root=true
type ArtifactStoreList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []ArtifactStore `json:"items"`
}

func init() {
	SchemeBuilder.Register(&ArtifactStore{}, &ArtifactStoreList{})
}

// Default limits and retention.
const (
	DefaultMaxArtifactSize int64 = 1 << 30
	DefaultMaxRunSize      int64 = 4 << 30
)

// GetConditions returns the store's kstatus conditions.
func (s *ArtifactStore) GetConditions() []metav1.Condition { return s.Status.Conditions }

// SetConditions sets the store's kstatus conditions.
func (s *ArtifactStore) SetConditions(c []metav1.Condition) { s.Status.Conditions = c }
