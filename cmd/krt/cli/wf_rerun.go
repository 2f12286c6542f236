package cli

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	krtv1 "krt.dev/krt/api/v1alpha1"
)

func (r *root) wfRerunCommand() *cobra.Command {
	var wait bool
	cmd := &cobra.Command{
		Use:   "rerun RUN [--wait]",
		Short: "Start a new run with what an earlier run started with",
		Long: `Rerun creates a WorkflowRun with RUN's definition, tools, params, revision and
event, in your name as the API server knows you, and prints its name. The new
run records spec.rerunOf, and its history starts with a rerun by you. A pull
request's run that needed an approval needs one again: an approval holds for
one run only.

With --wait it reports progress on stderr until the run ends, and exits 0
when it succeeded, 1 when it failed and 130 when it was cancelled.`,
		Args:              cobra.ExactArgs(1),
		ValidArgsFunction: r.complete(1, listWorkflowRuns(nil)),
		RunE: func(cmd *cobra.Command, args []string) error {
			return r.wfRerun(cmd.Context(), args[0], wait)
		},
	}
	cmd.Flags().BoolVarP(&wait, "wait", "w", false, "wait for the run to end, showing its progress")
	return cmd
}

func (r *root) wfRerun(ctx context.Context, name string, wait bool) error {
	s, err := r.wfSession()
	if err != nil {
		return err
	}
	old, err := s.run(ctx, name)
	if err != nil {
		return err
	}
	me, err := r.whoami(ctx)
	if err != nil {
		return err
	}
	wr := wfRerunOf(old, me.Username)
	if wr.OwnerReferences, err = s.rerunOwners(ctx, old); err != nil {
		return err
	}
	if err := s.c.Create(ctx, wr); err != nil {
		return err
	}
	fmt.Fprintln(r.Out, wr.Name)
	if !wait {
		return nil
	}
	return r.wfWait(ctx, s.c, wr)
}

// wfRerunOf is a new run of what old started with. Its labels, which say
// which workflow, event, repository and concurrency group it belongs to,
// are old's; the cancel and the names are the caller's own.
func wfRerunOf(old *krtv1.WorkflowRun, me string) *krtv1.WorkflowRun {
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

// rerunOwners gives the rerun its workflow as owner, as the trigger does,
// so it goes with the workflow. The old run's owner may be gone: the
// garbage collector deletes a run whose owners are all gone, which a
// workflow deleted and applied again since would make of the rerun. A run
// with no Workflow object (a pull request head's own workflow) keeps the
// owners it had, its repository.
func (s *wfSession) rerunOwners(ctx context.Context, old *krtv1.WorkflowRun) ([]metav1.OwnerReference, error) {
	wf := &krtv1.Workflow{}
	err := s.c.Get(ctx, client.ObjectKey{Namespace: old.Namespace, Name: old.Spec.Workflow}, wf)
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
