package trigger

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	krtv1 "krt.dev/krt/api/v1alpha1"
	"krt.dev/krt/controllers/source"
	"krt.dev/krt/workflows/dag"
	"krt.dev/krt/workflows/expr"
	"krt.dev/krt/workflows/runs"
)

// ReasonInvalidDefinition is the event of a run made to fail.
const ReasonInvalidDefinition = "InvalidDefinition"

// start creates the run of one headRun: a run of the head's definition,
// or a failed run that says what is wrong with it. A problem building the
// run is the head's too, and fails it the same way. env carries the
// budget of the PR event, which all of the head's workflows share: a head
// may define many, and nobody has approved any of them yet.
// The run, made or failed, is added to rec.
func (h *heads) start(ctx context.Context, env *expr.Env, repo *krtv1.WorkflowRepository, head *source.Head, hr headRun, rec *handledSet) error {
	if len(hr.errs) > 0 {
		return h.fail(ctx, repo, hr, invalidMessage(head.Revision, hr.errs), rec)
	}
	if exists, err := h.exists(ctx, repo.Namespace, hr.c.name); err != nil || exists {
		if exists {
			rec.add(hr.c.name)
		}
		return err
	}
	ok, err := h.when(ctx, env, hr.wf, hr.c)
	if err != nil {
		return h.fail(ctx, repo, hr, fmt.Sprintf("%s: on.when: %v", hr.wf.Annotations[krtv1.AnnotationFile], err), rec)
	}
	if !ok {
		return nil
	}
	wr, err := runs.NewRun(hr.wf, head.Tools, hr.c.event, hr.c.name, nil, env)
	if err != nil {
		return h.fail(ctx, repo, hr, fmt.Sprintf("%s: %v", hr.wf.Annotations[krtv1.AnnotationFile], err), rec)
	}
	// The definition came from the repository, not from a Workflow object,
	// which a head-only workflow does not even have.
	wr.OwnerReferences = []metav1.OwnerReference{repoOwner(repo)}
	confineGroup(wr)
	_, err = h.submit(ctx, wr, hr.c, repo)
	var p *problem
	if errors.As(err, &p) {
		return h.fail(ctx, repo, hr, p.msg, rec)
	}
	if err == nil {
		rec.add(hr.c.name)
	}
	return err
}

// HeadGroupPrefix starts the concurrency group of every run whose
// definition came from a PR head.
const HeadGroupPrefix = "pull-request-head/"

// maxGroup is the API's bound on a run's concurrency group.
const maxGroup = 512

// confineGroup keeps a head-defined run out of every concurrency group
// that base-defined runs use: the head chose its group, and in a base
// deploy's group it could cancel that deploy (cancelInProgress) or hold
// it behind itself. Head-defined runs still share groups with each
// other, so a PR's new head cancels its old one.
func confineGroup(wr *krtv1.WorkflowRun) {
	if wr.Spec.ConcurrencyGroup == "" {
		return
	}
	group := HeadGroupPrefix + wr.Spec.ConcurrencyGroup
	if len(group) > maxGroup {
		// A digest keeps two long groups apart where a cut would merge them.
		sum := sha256.Sum256([]byte(wr.Spec.ConcurrencyGroup))
		group = HeadGroupPrefix + "sha256:" + hex.EncodeToString(sum[:])
	}
	wr.Spec.ConcurrencyGroup = group
	wr.Labels[runs.LabelConcurrencyGroup] = runs.GroupHash(wr.Spec.ConcurrencyGroup)
}

func repoOwner(repo *krtv1.WorkflowRepository) metav1.OwnerReference {
	ref := metav1.NewControllerRef(repo, krtv1.GroupVersion.WithKind("WorkflowRepository"))
	ref.BlockOwnerDeletion = ptr.To(false)
	return *ref
}

// fail creates a run that the engine ends Failed at once, saying why. A
// run of that name already there is left alone.
func (h *heads) fail(ctx context.Context, repo *krtv1.WorkflowRepository, hr headRun, msg string, rec *handledSet) error {
	msg = krtv1.TruncateMessage(msg)
	wr := failedRun(repo, hr, msg)
	wr.Spec.TriggeredBy = h.self
	err := h.client.Create(ctx, wr)
	switch {
	case apierrors.IsAlreadyExists(err):
		rec.add(hr.c.name)
		return nil
	case err != nil:
		return err
	}
	rec.add(hr.c.name)
	h.recorder.Eventf(repo, corev1.EventTypeWarning, ReasonInvalidDefinition, "created %s failed for %s: %s", wr.Name, hr.c.what, msg)
	return nil
}

// failedRun is a run that will never run a step: its definition-error
// annotation has the engine end it before it starts. The API needs a
// definition of one step at least; it gets one that does nothing.
func failedRun(repo *krtv1.WorkflowRepository, hr headRun, msg string) *krtv1.WorkflowRun {
	return &krtv1.WorkflowRun{
		ObjectMeta: metav1.ObjectMeta{
			Namespace: repo.Namespace, Name: hr.c.name,
			Labels: map[string]string{runs.LabelWorkflow: dag.LabelValue(hr.wf.Name), runs.LabelEvent: hr.c.event.Type,
				krtv1.LabelRepository: repo.Name},
			Annotations:     map[string]string{krtv1.AnnotationDefinitionError: msg},
			OwnerReferences: []metav1.OwnerReference{repoOwner(repo)},
		},
		Spec: krtv1.WorkflowRunSpec{
			Workflow: hr.wf.Name, Revision: hr.wf.Annotations[krtv1.AnnotationRevision], Event: *hr.c.event.DeepCopy(),
			Definition: krtv1.WorkflowSpec{Steps: []krtv1.Step{{Name: "invalid-definition",
				Run: "# never runs: the definition in the pull request's head is invalid; see status.message\nexit 1"}}},
		},
	}
}
