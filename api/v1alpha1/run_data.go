package v1alpha1

// Files between steps: what a Run takes in and hands on. runtimed does the
// moving; the Runtime Server only packs and unpacks inside the working
// directory.

// ArtifactOutput is a path in the working directory that runtimed packs
// and uploads once the step succeeds.
type ArtifactOutput struct {
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=63
	// +kubebuilder:validation:Pattern=`^[a-z0-9]([-a-z0-9_]*[a-z0-9])?$`
	Name string `json:"name"`
	// Path is a file or folder relative to the working directory.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=1024
	Path string `json:"path"`
}

// ArtifactInput is an artifact that runtimed downloads, verifies and
// unpacks at Path before the script starts.
type ArtifactInput struct {
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=63
	// +kubebuilder:validation:Pattern=`^[a-z0-9]([-a-z0-9_]*[a-z0-9])?$`
	Name string `json:"name"`
	// Path is a folder relative to the working directory; "." is the
	// working directory itself.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=1024
	Path string `json:"path"`
	// Digest is the artifact's content address, sha256:<hex>.
	// +kubebuilder:validation:Pattern=`^sha256:[a-f0-9]{64}$`
	Digest string `json:"digest"`
	// From says where it came from, for messages: "steps.build.artifacts.dist".
	// +kubebuilder:validation:MaxLength=512
	// +optional
	From string `json:"from,omitempty"`
}

// RunArtifacts are a Run's files in and out.
type RunArtifacts struct {
	// +kubebuilder:validation:MaxItems=32
	// +listType=map
	// +listMapKey=name
	// +optional
	Inputs []ArtifactInput `json:"inputs,omitempty"`
	// +kubebuilder:validation:MaxItems=32
	// +listType=map
	// +listMapKey=name
	// +optional
	Outputs []ArtifactOutput `json:"outputs,omitempty"`
}

// RunCache restores Paths from the store before the script and saves them
// after a success, under Key within Scope.
type RunCache struct {
	// Key is the evaluated cache key.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=512
	Key string `json:"key"`
	// +kubebuilder:validation:MinItems=1
	// +kubebuilder:validation:MaxItems=16
	// +kubebuilder:validation:items:MaxLength=1024
	Paths []string `json:"paths"`
}

// RunScope is where a Run's caches and memoized results belong: the
// repository, the workflow and the ref. A Run reads Read, in order, and
// writes only Write, so a pull request can use its base branch's cache
// but never put anything in it.
type RunScope struct {
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=512
	Write string `json:"write"`
	// +kubebuilder:validation:MaxItems=4
	// +kubebuilder:validation:items:MaxLength=512
	// +optional
	Read []string `json:"read,omitempty"`
}

// ArtifactRef is an artifact in the store, as a Run's status records it.
type ArtifactRef struct {
	// +kubebuilder:validation:MaxLength=63
	Name string `json:"name"`
	// +kubebuilder:validation:MaxLength=71
	Digest string `json:"digest"`
	// Size is the packed size in bytes.
	Size int64 `json:"size"`
	// +kubebuilder:validation:MaxLength=2048
	// +optional
	URI string `json:"uri,omitempty"`
}

// Reasons for data between steps.
const (
	ReasonNoArtifactStore      = "NoArtifactStore"
	ReasonArtifactNotFound     = "ArtifactNotFound"
	ReasonArtifactDigest       = "ArtifactDigestMismatch"
	ReasonArtifactInvalid      = "ArtifactInvalid"
	ReasonArtifactTooLarge     = "ArtifactTooLarge"
	ReasonStoreUnreachable     = "StoreUnreachable"
	ReasonArtifactsUnsupported = "ArtifactsUnsupported"
	ReasonMemoized             = "Memoized"
)
