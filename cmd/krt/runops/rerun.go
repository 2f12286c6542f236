package runops

import (
	"context"
	"maps"
	"slices"
	"strings"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	krtv1 "krt.dev/krt/api/v1alpha1"
)

// Rerun creates a new run of what old started with, in me's name, and
// returns it.
func Rerun(ctx context.Context, c client.Client, old *krtv1.WorkflowRun, me string) (*krtv1.WorkflowRun, error) {
	wr := RerunOf(old, me)
	var err error
	if wr.OwnerReferences, err = RerunOwners(ctx, c, old); err != nil {
		return nil, err
	}
	if err := c.Create(ctx, wr); err != nil {
		return nil, err
	}
	return wr, nil
}

// RerunOf is a new run of what old started with. Its labels, which say
// which workflow, event, repository and concurrency group it belongs to,
// are old's; the cancel and the names are the caller's own.
func RerunOf(old *krtv1.WorkflowRun, me string) *krtv1.WorkflowRun {
	spec := old.Spec.DeepCopy()
	spec.CancelRequested, spec.CancelledBy = false, ""
	spec.TriggeredBy, spec.RerunOf = me, old.Name
	if spec.Event.Manual != nil {
		// The manual trigger policy wants the starter's own name here.
		spec.Event.Manual = &krtv1.ManualEvent{User: me}
	}
	annotations := map[string]string{krtv1.AnnotationQueuedAt: time.Now().UTC().Format(time.RFC3339Nano)}
	if msg := old.Annotations[krtv1.AnnotationDefinitionError]; msg != "" {
		annotations[krtv1.AnnotationDefinitionError] = msg
	}
	prefix := old.Spec.Workflow
	if len(prefix) > 200 {
		prefix = prefix[:200]
	}
	return &krtv1.WorkflowRun{
		ObjectMeta: metav1.ObjectMeta{Namespace: old.Namespace, GenerateName: strings.TrimRight(prefix, "-.") + "-rerun-",
			Labels: maps.Clone(old.Labels), Annotations: annotations},
		Spec: *spec,
	}
}

// RerunOwners gives the rerun its workflow as owner, as the trigger does,
// so it goes with the workflow. The old run's owner may be gone: the
// garbage collector deletes a run whose owners are all gone, which a
// workflow deleted and applied again since would make of the rerun. A run
// with no Workflow object (a pull request head's own workflow) keeps the
// owners it had, its repository.
func RerunOwners(ctx context.Context, c client.Client, old *krtv1.WorkflowRun) ([]metav1.OwnerReference, error) {
	wf := &krtv1.Workflow{}
	err := c.Get(ctx, client.ObjectKey{Namespace: old.Namespace, Name: old.Spec.Workflow}, wf)
	switch {
	case apierrors.IsNotFound(err):
		return slices.DeleteFunc(slices.Clone(old.OwnerReferences), func(o metav1.OwnerReference) bool {
			return o.Kind == "Workflow"
		}), nil
	case err != nil:
		return nil, err
	}
	ref := metav1.NewControllerRef(wf, krtv1.GroupVersion.WithKind("Workflow"))
	ref.BlockOwnerDeletion = ptr.To(false)
	return []metav1.OwnerReference{*ref}, nil
}
