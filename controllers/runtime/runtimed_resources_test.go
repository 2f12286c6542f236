package runtime

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	krtv1 "krt.dev/krt/api/v1alpha1"
)

// runtimed asks for little by default; a Runtime that needs more for it
// (a busy pool on a crowded node) says so, and only runtimed gets it.
func TestRuntimedResources(t *testing.T) {
	more := &corev1.ResourceRequirements{
		Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("250m"), corev1.ResourceMemory: resource.MustParse("64Mi")},
		Limits:   corev1.ResourceList{corev1.ResourceMemory: resource.MustParse("512Mi")},
	}
	for _, tc := range []struct {
		name     string
		set      *corev1.ResourceRequirements
		cpu, mem string
	}{
		{"default", nil, "20m", "256Mi"},
		{"the Runtime's", more, "250m", "512Mi"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rt := &krtv1.Runtime{ObjectMeta: metav1.ObjectMeta{Name: "t", Namespace: "ns"},
				Spec: krtv1.RuntimeSpec{Image: "bash:5", RuntimedResources: tc.set}}
			pod, err := Pod(rt, PodOptions{RuntimedImage: "runtimed:test"})
			if err != nil {
				t.Fatal(err)
			}
			r := container(&pod.Spec, RuntimedContainer).Resources
			if r.Requests.Cpu().String() != tc.cpu || r.Limits.Memory().String() != tc.mem {
				t.Errorf("runtimed's resources %v, want a %s CPU request and a %s memory limit", r, tc.cpu, tc.mem)
			}
			if rc := container(&pod.Spec, RuntimeContainer).Resources; rc.Requests.Cpu().String() == tc.cpu {
				t.Errorf("the runtime container got runtimed's resources: %v", rc)
			}
		})
	}
}
