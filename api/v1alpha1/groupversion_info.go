// Package v1alpha1 holds the krt.dev/v1alpha1 API: Runs, Runtimes and the
// workflow kinds built on them.
// +kubebuilder:object:generate=true
// +groupName=krt.dev
package v1alpha1

import (
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/scheme"
)

var (
	// GroupVersion is the group and version of every krt kind.
	GroupVersion = schema.GroupVersion{Group: "krt.dev", Version: "v1alpha1"}

	// SchemeBuilder registers the krt kinds with a scheme.
	SchemeBuilder = &scheme.Builder{GroupVersion: GroupVersion}

	// AddToScheme adds the krt kinds to a scheme.
	AddToScheme = SchemeBuilder.AddToScheme
)
