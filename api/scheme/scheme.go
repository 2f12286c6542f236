// Package scheme is the one runtime.Scheme krt's binaries share: the
// built-in Kubernetes kinds, krt.dev, and Flux's source kinds krt reads.
package scheme

import (
	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"

	sourcev1 "github.com/fluxcd/source-controller/api/v1"

	krtv1 "krt.dev/krt/api/v1alpha1"
)

// New returns a scheme with the built-in kinds and krt's.
func New() *runtime.Scheme {
	s := runtime.NewScheme()
	if err := clientgoscheme.AddToScheme(s); err != nil {
		panic(err)
	}
	if err := krtv1.AddToScheme(s); err != nil {
		panic(err)
	}
	if err := sourcev1.AddToScheme(s); err != nil {
		panic(err)
	}
	return s
}
