package runtime

import (
	"fmt"
	"strings"

	"github.com/distribution/reference"

	krtv1 "krt.dev/krt/api/v1alpha1"
)

// ReasonInvalidSpec is the Stalled reason for a Runtime krt cannot run.
const ReasonInvalidSpec = "InvalidSpec"

// Validate finds what the schema cannot: a capacity of 0, an image that is
// not a reference, a language krt cannot run, a template that would change
// what krt keeps. Each problem names its field.
func Validate(rt *krtv1.Runtime) error {
	var problems []string
	if rt.Spec.Capacity < 1 {
		problems = append(problems, fmt.Sprintf("spec.capacity: %d; a pod must take at least 1 Run at a time", rt.Spec.Capacity))
	}
	if _, err := reference.ParseNormalizedNamed(rt.Spec.Image); err != nil {
		problems = append(problems, fmt.Sprintf("spec.image: %q is not an image reference: %v", rt.Spec.Image, err))
	}
	for i, l := range rt.Spec.Languages {
		if l != krtv1.LanguageBash && l != krtv1.LanguagePython {
			problems = append(problems, fmt.Sprintf("spec.languages[%d]: unknown language %q; krt runs bash and python", i, l))
		}
	}
	if rt.Spec.Template != nil {
		if _, err := Pod(rt, PodOptions{}); err != nil {
			problems = append(problems, err.Error())
		}
	}
	if len(problems) == 0 {
		return nil
	}
	return fmt.Errorf("%s", strings.Join(problems, "; "))
}
