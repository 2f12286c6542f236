package source

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	krtv1 "krt.dev/krt/api/v1alpha1"
)

// object is a Workflow or Tool ready to apply, with where it came from.
type object struct {
	obj  client.Object
	file string
}

// conflict is an object of the folder whose name another owner holds: it
// is not applied, and the owner keeps it.
type conflict struct {
	kind, name, file, owner string
}

func (c conflict) String() string {
	return fmt.Sprintf("%s %s (%s) is not applied: the name is taken by %s", c.kind, c.name, c.file, c.owner)
}

// apply server-side applies the objects, owned by the repository and
// stamped with its revision, then prunes what the repository no longer
// holds. Objects from files that failed to parse (stale) are kept as they
// were. An object whose content did not change since it was last applied
// is not written again: a push costs writes only for what it changed, and
// the revision annotation says when each object last changed.
//
// A name held by anyone else (another repository, or an object made by
// hand) is a conflict: the object is left to its owner, and reported. A
// repository never takes over what it does not own, so a low-trust
// repository cannot replace the Tool that another's workflows run.
func (r *Reconciler) apply(ctx context.Context, repo *krtv1.WorkflowRepository, revision string, objs []object, staleFiles map[string]bool) ([]krtv1.AppliedObject, []conflict, error) {
	existing, err := r.owned(ctx, repo)
	if err != nil {
		return nil, nil, err
	}
	applied := make([]krtv1.AppliedObject, 0, len(objs))
	keep := map[string]bool{}
	var conflicts []conflict
	var errs []error
	for _, o := range objs {
		key := kindOf(o.obj) + "/" + o.obj.GetName()
		prepare(o.obj, repo, revision, o.file)
		cur, ours := existing[key]
		force := ours
		if !ours {
			owner, adopt, err := r.ownerOf(ctx, repo, o.obj)
			if err != nil {
				errs = append(errs, err)
				continue
			}
			if owner != "" {
				conflicts = append(conflicts, conflict{kind: kindOf(o.obj), name: o.obj.GetName(), file: o.file, owner: owner})
				continue
			}
			force = adopt
		}
		if !ours || cur.GetAnnotations()[krtv1.AnnotationDigest] != o.obj.GetAnnotations()[krtv1.AnnotationDigest] {
			if err := r.client.Patch(ctx, o.obj, client.Apply, applyOptions(repo, force)...); err != nil {
				errs = append(errs, fmt.Errorf("applying %s %s from %s: %w", kindOf(o.obj), o.obj.GetName(), o.file, err))
				continue
			}
		}
		keep[key] = true
		applied = append(applied, krtv1.AppliedObject{Kind: kindOf(o.obj), Name: o.obj.GetName(), File: o.file})
	}
	stale, err := r.prune(ctx, repo, existing, keep, staleFiles)
	if err != nil {
		errs = append(errs, err)
	}
	applied = append(applied, stale...)
	sort.Slice(applied, func(i, j int) bool {
		return applied[i].Kind+applied[i].Name < applied[j].Kind+applied[j].Name
	})
	return applied, conflicts, errors.Join(errs...)
}

// applyOptions: each repository applies as its own field manager, so the
// objects' managedFields say which repository wrote them. Ownership is
// forced only on the repository's own objects, where git wins over a hand
// edit (or krt's older, shared manager). An object that does not exist
// yet is created without force: should another repository create it
// first, the API server refuses the second controller reference.
func applyOptions(repo *krtv1.WorkflowRepository, force bool) []client.PatchOption {
	opts := []client.PatchOption{client.FieldOwner(fieldManager(repo))}
	if force {
		opts = append(opts, client.ForceOwnership)
	}
	return opts
}

// fieldManager names the repository's field manager, within the API
// server's 128 characters.
func fieldManager(repo *krtv1.WorkflowRepository) string {
	m := "krt-source/" + repo.Name
	if len(m) <= 128 {
		return m
	}
	sum := sha256.Sum256([]byte(repo.Name))
	return m[:110] + "-" + hex.EncodeToString(sum[:8])
}

// ownerOf says who holds an object's name, when it exists and is not the
// repository's own: "" when the name is free. An object left by an earlier
// repository of the same name (deleted and made again, before the garbage
// collector removed its objects) is adopted: the same field manager wrote
// it, so applying replaces its owner reference.
func (r *Reconciler) ownerOf(ctx context.Context, repo *krtv1.WorkflowRepository, o client.Object) (owner string, adopt bool, err error) {
	cur, ok := o.DeepCopyObject().(client.Object)
	if !ok {
		return "", false, fmt.Errorf("%s %s: not an object", kindOf(o), o.GetName())
	}
	err = r.client.Get(ctx, client.ObjectKeyFromObject(o), cur)
	switch {
	case apierrors.IsNotFound(err):
		return "", false, nil
	case err != nil:
		return "", false, fmt.Errorf("reading %s %s: %w", kindOf(o), o.GetName(), err)
	case metav1.IsControlledBy(cur, repo):
		return "", true, nil // ours, though its labels were edited
	}
	ref := metav1.GetControllerOf(cur)
	if ref == nil || ref.Kind != "WorkflowRepository" || ref.APIVersion != krtv1.GroupVersion.String() {
		return "no repository: it was made by hand or by another tool; delete it to let this repository define it", false, nil
	}
	holder := &krtv1.WorkflowRepository{}
	err = r.client.Get(ctx, client.ObjectKey{Namespace: repo.Namespace, Name: ref.Name}, holder)
	gone := apierrors.IsNotFound(err) || (err == nil && holder.UID != ref.UID)
	switch {
	case err != nil && !gone:
		return "", false, fmt.Errorf("reading the owner of %s %s: %w", kindOf(o), o.GetName(), err)
	case gone && ref.Name == repo.Name:
		return "", true, nil
	case gone:
		return fmt.Sprintf("WorkflowRepository %s, which was deleted; the garbage collector removes its objects", ref.Name), false, nil
	}
	owner = "WorkflowRepository " + ref.Name
	if file := cur.GetAnnotations()[krtv1.AnnotationFile]; file != "" {
		owner += " (" + file + ")"
	}
	return owner, false, nil
}

// prepare sets what krt owns on an object: namespace, owner, labels and
// annotations. Labels that belong to Argo CD or Flux are dropped, so
// neither takes krt's objects for its own.
func prepare(o client.Object, repo *krtv1.WorkflowRepository, revision, file string) {
	o.SetNamespace(repo.Namespace)
	o.SetResourceVersion("")
	o.SetManagedFields(nil)
	o.SetOwnerReferences([]metav1.OwnerReference{*metav1.NewControllerRef(repo, krtv1.GroupVersion.WithKind("WorkflowRepository"))})
	labels := foreignFree(o.GetLabels())
	labels[krtv1.LabelRepository] = repo.Name
	o.SetLabels(labels)
	ann := foreignFree(o.GetAnnotations())
	ann[krtv1.AnnotationFile] = file
	o.SetAnnotations(ann)
	ann[krtv1.AnnotationDigest] = digest(o)
	ann[krtv1.AnnotationRevision] = revision
	o.SetAnnotations(ann)
}

// digest sums what krt writes of an object, except the revision, so an
// unchanged object is recognised at a new revision.
func digest(o client.Object) string {
	data, err := json.Marshal(struct {
		Labels, Annotations map[string]string
		Object              client.Object
	}{o.GetLabels(), o.GetAnnotations(), o})
	if err != nil {
		return "" // never equal to a stored digest: the object is applied
	}
	sum := sha256.Sum256(data)
	return "sha256:" + hex.EncodeToString(sum[:12])
}

// foreignFree drops the metadata of other GitOps tools.
func foreignFree(in map[string]string) map[string]string {
	out := map[string]string{}
	for k, v := range in {
		if k == "app.kubernetes.io/instance" || strings.HasPrefix(k, "argocd.argoproj.io/") ||
			strings.Contains(strings.SplitN(k, "/", 2)[0], "toolkit.fluxcd.io") {
			continue
		}
		out[k] = v
	}
	return out
}

func kindOf(o client.Object) string {
	switch o.(type) {
	case *krtv1.Workflow:
		return "Workflow"
	case *krtv1.Tool:
		return "Tool"
	}
	return o.GetObjectKind().GroupVersionKind().Kind
}

// owned lists the repository's Workflows and Tools, by kind/name.
func (r *Reconciler) owned(ctx context.Context, repo *krtv1.WorkflowRepository) (map[string]client.Object, error) {
	mine := client.MatchingLabels{krtv1.LabelRepository: repo.Name}
	wfs := &krtv1.WorkflowList{}
	if err := r.client.List(ctx, wfs, client.InNamespace(repo.Namespace), mine); err != nil {
		return nil, err
	}
	tools := &krtv1.ToolList{}
	if err := r.client.List(ctx, tools, client.InNamespace(repo.Namespace), mine); err != nil {
		return nil, err
	}
	out := map[string]client.Object{}
	for i := range wfs.Items {
		if metav1.IsControlledBy(&wfs.Items[i], repo) {
			out["Workflow/"+wfs.Items[i].Name] = &wfs.Items[i]
		}
	}
	for i := range tools.Items {
		if metav1.IsControlledBy(&tools.Items[i], repo) {
			out["Tool/"+tools.Items[i].Name] = &tools.Items[i]
		}
	}
	return out, nil
}

// prune deletes the repository's Workflows and Tools that it no longer
// holds, except those of files that failed to parse: they keep their last
// good version and are reported stale.
func (r *Reconciler) prune(ctx context.Context, repo *krtv1.WorkflowRepository, existing map[string]client.Object, keep, staleFiles map[string]bool) ([]krtv1.AppliedObject, error) {
	var stale []krtv1.AppliedObject
	var errs []error
	for key, o := range existing {
		if keep[key] {
			continue
		}
		if file := o.GetAnnotations()[krtv1.AnnotationFile]; staleFiles[file] {
			stale = append(stale, krtv1.AppliedObject{Kind: kindOf(o), Name: o.GetName(), File: file, Stale: true})
			continue
		}
		if err := r.client.Delete(ctx, o); err != nil && !apierrors.IsNotFound(err) {
			errs = append(errs, fmt.Errorf("pruning %s %s: %w", kindOf(o), o.GetName(), err))
		}
	}
	return stale, errors.Join(errs...)
}
