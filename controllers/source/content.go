package source

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/fluxcd/pkg/runtime/conditions"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	krtv1 "krt.dev/krt/api/v1alpha1"
	"krt.dev/krt/sources/folder"
	"krt.dev/krt/workflows/expr"
	"krt.dev/krt/workflows/parse"
	"krt.dev/krt/workflows/validate"
)

// Bounds of what the repository's status lists.
const (
	maxParseErrors = 100
	maxApplied     = 1000
)

// reconcileContent builds the folder, parses and validates every file,
// and applies the good ones. A file with any error is not applied: what it
// defined before keeps its last good version and is listed as stale. Only
// a failure to apply is returned, since only that is worth retrying at the
// same revision.
func (r *Reconciler) reconcileContent(ctx context.Context, repo *krtv1.WorkflowRepository, revision string, files map[string][]byte) error {
	checked, err := checkFolder(ctx, r.client, r.expr, repo, files)
	if err != nil {
		return r.markApplyFailed(repo, err)
	}
	if err := checked.buildErr; err != nil {
		repo.Status.ParseErrors = []krtv1.ParseError{buildError(workflowDir(repo), err)}
		r.markInvalid(repo, revision, fmt.Sprintf("building %s at %s: %v", workflowDir(repo), revision, err))
		return nil
	}
	docs, errs := checked.docs, checked.errs
	bad := map[string]bool{}
	for _, e := range errs {
		bad[e.File] = true
		r.recorder.Event(repo, corev1.EventTypeWarning, ReasonValidationFailed, e.Error())
	}
	var objs []object
	for _, d := range docs {
		if !bad[d.File] {
			objs = append(objs, object{obj: d.Object, file: d.File})
		}
	}
	applied, conflicts, err := r.apply(ctx, repo, revision, objs, bad)
	repo.Status.ParseErrors = statusErrors(errs)
	repo.Status.Applied = applied
	if len(applied) > maxApplied {
		repo.Status.Applied = applied[:maxApplied]
	}
	if err != nil {
		return r.markApplyFailed(repo, err)
	}
	msg := summary(revision, applied, repo.Status.ParseErrors) + r.intervalNote(repo)
	if len(conflicts) > 0 {
		r.markConflict(repo, msg, conflicts)
		return nil
	}
	if len(errs) > 0 {
		r.markInvalid(repo, revision, msg)
		return nil
	}
	conditions.Delete(repo, krtv1.ConditionStalled)
	conditions.Delete(repo, krtv1.ConditionReconciling)
	conditions.MarkTrue(repo, krtv1.ConditionReady, ReasonSucceeded, "%s", msg)
	return nil
}

// checked is a workflow folder built, parsed and validated.
type checked struct {
	docs []parse.Document
	// errs are located; a file with any is bad as a whole.
	errs []*parse.Error
	// known are the namespace's Tools the repository does not define.
	known map[string]*krtv1.ToolSpec
	// buildErr is a folder that did not build (a broken kustomization).
	buildErr error
}

// checkFolder builds, parses and validates a folder's files. It is the one
// way a revision to apply and a pull request's head are read, so a head
// is held to exactly the rules of the branch it would merge into. Only an
// API error is returned.
func checkFolder(ctx context.Context, c client.Reader, env *expr.Env, repo *krtv1.WorkflowRepository, files map[string][]byte) (*checked, error) {
	built, err := folder.Build(files, workflowDir(repo))
	if err != nil {
		return &checked{buildErr: err}, nil
	}
	docs, errs := parseAll(built)
	known, err := clusterTools(ctx, c, repo)
	if err != nil {
		return nil, err
	}
	errs = append(errs, validate.Set(docs, known, env)...)
	return &checked{docs: docs, errs: errs, known: known}, nil
}

// markInvalid reports files that could not be applied. It is not Stalled:
// the next push may fix them.
func (r *Reconciler) markInvalid(repo *krtv1.WorkflowRepository, revision, msg string) {
	conditions.Delete(repo, krtv1.ConditionReconciling)
	conditions.MarkFalse(repo, krtv1.ConditionReady, ReasonValidationFailed, "%s", msg)
}

// markConflict reports the objects whose names another owner holds. It is
// retried at every interval, at the same revision: once the owner lets the
// name go, the repository applies its own.
func (r *Reconciler) markConflict(repo *krtv1.WorkflowRepository, msg string, conflicts []conflict) {
	const shown = 5
	parts := make([]string, 0, shown)
	for _, c := range conflicts[:min(len(conflicts), shown)] {
		parts = append(parts, c.String())
		r.recorder.Event(repo, corev1.EventTypeWarning, ReasonOwnershipConflict, c.String())
	}
	if len(conflicts) > shown {
		parts = append(parts, fmt.Sprintf("and %d more", len(conflicts)-shown))
	}
	conditions.Delete(repo, krtv1.ConditionReconciling)
	conditions.MarkFalse(repo, krtv1.ConditionReady, ReasonOwnershipConflict, "%s; %s", msg, strings.Join(parts, "; "))
}

// buildError locates a folder that did not build: at the refused entry of
// a kustomization, or else on the folder.
func buildError(dir string, err error) krtv1.ParseError {
	var refused *folder.RefusedError
	if errors.As(err, &refused) {
		return krtv1.ParseError{File: refused.File, Line: int32(refused.Line), Message: refused.Reason}
	}
	return krtv1.ParseError{File: dir, Message: err.Error()}
}

func (r *Reconciler) markApplyFailed(repo *krtv1.WorkflowRepository, err error) error {
	conditions.MarkFalse(repo, krtv1.ConditionReady, ReasonApplyFailed, "%s", err)
	r.recorder.Event(repo, corev1.EventTypeWarning, ReasonApplyFailed, err.Error())
	return err
}

// parseAll parses every built file, in a stable order.
func parseAll(files map[string][]byte) ([]parse.Document, []*parse.Error) {
	names := make([]string, 0, len(files))
	for name := range files {
		names = append(names, name)
	}
	sort.Strings(names)
	var docs []parse.Document
	var errs []*parse.Error
	for _, name := range names {
		d, e := parse.File(name, files[name])
		docs = append(docs, d...)
		errs = append(errs, e...)
	}
	return docs, errs
}

// clusterTools are the namespace's Tools that this repository does not
// define: steps may use them too.
func clusterTools(ctx context.Context, c client.Reader, repo *krtv1.WorkflowRepository) (map[string]*krtv1.ToolSpec, error) {
	list := &krtv1.ToolList{}
	if err := c.List(ctx, list, client.InNamespace(repo.Namespace)); err != nil {
		return nil, err
	}
	out := map[string]*krtv1.ToolSpec{}
	for i := range list.Items {
		t := &list.Items[i]
		if t.Labels[krtv1.LabelRepository] != repo.Name {
			out[t.Name] = &t.Spec
		}
	}
	return out, nil
}

func statusErrors(errs []*parse.Error) []krtv1.ParseError {
	if len(errs) == 0 {
		return nil
	}
	out := make([]krtv1.ParseError, 0, min(len(errs), maxParseErrors))
	for _, e := range errs[:min(len(errs), maxParseErrors)] {
		out = append(out, krtv1.ParseError{File: e.File, Line: int32(e.Line), Field: e.Field, Message: e.Message})
	}
	return out
}
