package v1alpha1

// A step's files, as a workflow writes them; the engine turns them into
// a Run's (run_data.go).

// StepArtifacts name a step's files out and in.
type StepArtifacts struct {
	// +kubebuilder:validation:MaxItems=32
	// +optional
	Outputs []ArtifactOutput `json:"outputs,omitempty"`
	// +kubebuilder:validation:MaxItems=32
	// +optional
	Inputs []StepArtifactInput `json:"inputs,omitempty"`
}

// StepArtifactInput takes an earlier step's artifact. The step then needs
// that step, as with outputs.
type StepArtifactInput struct {
	// Name is the input's name; the artifact's own when unset.
	// +kubebuilder:validation:MaxLength=63
	// +optional
	Name string `json:"name,omitempty"`
	// From is steps.STEP.artifacts.NAME, bare or in ${{ }}.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=512
	From string `json:"from"`
	// Path is a folder relative to the working directory; "." when unset.
	// +kubebuilder:validation:MaxLength=1024
	// +optional
	Path string `json:"path,omitempty"`
}

// StepCache is a cache key, with ${{ }}, and the paths it covers.
type StepCache struct {
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=1024
	Key string `json:"key"`
	// +kubebuilder:validation:MinItems=1
	// +kubebuilder:validation:MaxItems=16
	// +kubebuilder:validation:items:MaxLength=1024
	Paths []string `json:"paths"`
}
