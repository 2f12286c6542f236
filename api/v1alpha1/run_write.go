package v1alpha1

import metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

// StatusOnly is what a status update of r needs to send: the Run's
// identity, the resourceVersion the write is conditional on, and its
// status (with the generation, which status code records as observed). On a status write the API server keeps everything else of the
// stored Run (metadata, managed fields, spec) and drops the request's, so
// the rest of the body would only be decoded and thrown away: for a
// workflow's Run, with its labels, annotations, owner and the managed
// fields that list them, most of the request. It is a copy to change and
// send (Finish works on it); the update fills it with the whole Run the
// API server answers with, so use it, not r, after.
func (r *Run) StatusOnly() *Run {
	return &Run{
		TypeMeta: r.TypeMeta,
		ObjectMeta: metav1.ObjectMeta{Name: r.Name, Namespace: r.Namespace, UID: r.UID,
			ResourceVersion: r.ResourceVersion, Generation: r.Generation},
		Status: *r.Status.DeepCopy(),
	}
}
