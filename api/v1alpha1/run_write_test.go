package v1alpha1

import (
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// A status write sends what the API server uses of it: the Run's
// identity, the resourceVersion that makes it conditional (without it
// the write would not be fenced), and the status; never the managed
// fields, labels or spec it would throw away.
func TestStatusOnly(t *testing.T) {
	exit := int32(0)
	r := &Run{
		TypeMeta: metav1.TypeMeta{APIVersion: "krt.dev/v1alpha1", Kind: "Run"},
		ObjectMeta: metav1.ObjectMeta{Name: "n", Namespace: "ns", UID: "u", ResourceVersion: "42", Generation: 3,
			Labels: map[string]string{"a": "b"}, Annotations: map[string]string{"c": "d"},
			ManagedFields: []metav1.ManagedFieldsEntry{{Manager: "m"}}, OwnerReferences: []metav1.OwnerReference{{Name: "o"}}},
		Spec:   RunSpec{Runtime: "bash", Script: "true"},
		Status: RunStatus{Phase: RunSucceeded, ExitCode: &exit, Outputs: map[string]string{"k": "v"}},
	}
	got := r.StatusOnly()
	if got.Name != "n" || got.Namespace != "ns" || got.UID != "u" || got.ResourceVersion != "42" || got.Generation != 3 || got.Kind != "Run" {
		t.Errorf("identity or resourceVersion lost: %+v", got.ObjectMeta)
	}
	if got.Labels != nil || got.Annotations != nil || got.ManagedFields != nil || got.OwnerReferences != nil || got.Spec.Runtime != "" {
		t.Errorf("a status write carries more than the status: %+v %+v", got.ObjectMeta, got.Spec)
	}
	if got.Status.Phase != RunSucceeded || *got.Status.ExitCode != 0 || got.Status.Outputs["k"] != "v" {
		t.Errorf("status = %+v, want r's", got.Status)
	}
	got.Status.Outputs["k"] = "changed"
	if r.Status.Outputs["k"] != "v" {
		t.Error("the copy shares its status with r: the update's answer would overwrite r's")
	}
}
