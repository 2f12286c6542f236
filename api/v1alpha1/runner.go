package v1alpha1

const (
	// DefaultRuntime runs a step that names no runner or runtime, when
	// neither its repository nor its namespace names another.
	DefaultRuntime = "bash"
	// AnnotationDefaultRuntime on a Namespace names the Runtime that runs
	// the steps of its workflows that name none, unless their repository
	// sets spec.defaultRuntime.
	AnnotationDefaultRuntime = "krt.dev/default-runtime"
)
