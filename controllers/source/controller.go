// Package source is the WorkflowRepository controller: it follows a git
// repository (or a Flux source), turns its folder of workflow YAML into
// Workflow and Tool objects at each new revision, records pushes and pull
// requests for the workflow controller, and serves the webhook receiver.
package source

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/fluxcd/pkg/apis/meta"
	"github.com/fluxcd/pkg/runtime/conditions"
	"github.com/fluxcd/pkg/runtime/jitter"
	"github.com/fluxcd/pkg/runtime/patch"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	kerrors "k8s.io/apimachinery/pkg/util/errors"
	"k8s.io/client-go/tools/record"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	krtv1 "krt.dev/krt/api/v1alpha1"
	"krt.dev/krt/sources/git"
	"krt.dev/krt/workflows/expr"
)

// The source controller's rights (make generate writes them into the
// ClusterRole krt-controller-source): its repositories, the Workflows and
// Tools it applies (server-side apply, which patches or creates) and
// prunes, Flux sources to read, and one Secret by name: a repository's
// credentials or webhook secret, read live, never listed or watched.
//
// +kubebuilder:rbac:groups=krt.dev,resources=workflowrepositories,verbs=get;list;watch;patch
// +kubebuilder:rbac:groups=krt.dev,resources=workflowrepositories/status,verbs=get;update;patch
// +kubebuilder:rbac:groups=krt.dev,resources=workflows;tools,verbs=get;list;watch;create;patch;delete
// +kubebuilder:rbac:groups=source.toolkit.fluxcd.io,resources=gitrepositories;externalartifacts,verbs=get;list;watch
// +kubebuilder:rbac:groups="",resources=secrets,verbs=get
// +kubebuilder:rbac:groups="",resources=events,verbs=create;patch

// Reasons on a repository's conditions.
const (
	ReasonSucceeded        = "Succeeded"
	ReasonFetchFailed      = "FetchFailed"
	ReasonValidationFailed = "ValidationFailed"
	ReasonApplyFailed      = "ApplyFailed"
	ReasonSuspended        = "Suspended"
	ReasonProgressing      = "Progressing"
	ReasonWebhookFailed    = "WebhookFailed"
	// ReasonOwnershipConflict: an object of the folder has a name that
	// another repository (or a hand-made object) holds.
	ReasonOwnershipConflict = "OwnershipConflict"
)

// Reconciler reconciles WorkflowRepositories.
type Reconciler struct {
	client   client.Client
	secrets  client.Reader // uncached: watching every Secret is not ours to do
	git      *git.Cache
	expr     *expr.Env
	recorder record.EventRecorder
	now      func() time.Time
	// flux: Flux sources are read; off, a sourceRef is refused.
	flux bool
	// artifacts downloads Flux artifacts, from the allowed hosts only.
	artifacts *http.Client
	// crossNamespaceRefs honours a sourceRef's namespace.
	crossNamespaceRefs bool
	// minInterval is the shortest interval between checks of a repository.
	minInterval time.Duration
	// cleaner is told when a repository goes, to drop its cache entry.
	cleaner *cacheCleaner
	// tooLarge holds, by repository and URL, the last revision that went
	// over the fetch limit.
	tooLarge sync.Map
}

// Reconcile runs the sub-steps, in the manner of Flux's source-controller,
// and patches the conditions once at the end.
func (r *Reconciler) Reconcile(ctx context.Context, req ctrl.Request) (result ctrl.Result, retErr error) {
	repo := &krtv1.WorkflowRepository{}
	if err := r.client.Get(ctx, req.NamespacedName, repo); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	patcher := patch.NewSerialPatcher(repo, r.client)
	defer func() {
		if v, ok := meta.ReconcileAnnotationValue(repo.GetAnnotations()); ok {
			repo.Status.SetLastHandledReconcileRequest(v)
		}
		err := patcher.Patch(ctx, repo, patch.WithStatusObservedGeneration{}, patch.WithOwnedConditions{Conditions: []string{
			krtv1.ConditionReady, krtv1.ConditionReconciling, krtv1.ConditionStalled, krtv1.ConditionFetchFailed}})
		retErr = kerrors.NewAggregate([]error{retErr, client.IgnoreNotFound(err)})
	}()
	if repo.Spec.Suspend {
		conditions.MarkFalse(repo, krtv1.ConditionReady, ReasonSuspended, "suspended")
		return ctrl.Result{}, nil
	}
	// Stalled is recomputed each time: a fixed Secret clears it.
	conditions.Delete(repo, krtv1.ConditionStalled)
	if err := r.reconcileWebhook(ctx, repo); err != nil {
		conditions.MarkStalled(repo, ReasonWebhookFailed, "%s", err)
	}
	if err := r.reconcileRevision(ctx, repo); err != nil {
		conditions.Delete(repo, krtv1.ConditionReconciling)
		conditions.MarkTrue(repo, krtv1.ConditionFetchFailed, ReasonFetchFailed, "%s", err)
		conditions.MarkFalse(repo, krtv1.ConditionReady, ReasonFetchFailed, "%s", err)
		var cfg *configError
		if errors.As(err, &cfg) {
			// No retry fixes a bad Secret; only an edit does.
			conditions.MarkStalled(repo, ReasonFetchFailed, "%s", err)
		}
		r.recorder.Event(repo, corev1.EventTypeWarning, ReasonFetchFailed, err.Error())
		return ctrl.Result{RequeueAfter: jitter.JitteredIntervalDuration(r.interval(repo))}, nil
	}
	conditions.Delete(repo, krtv1.ConditionFetchFailed)
	if err := r.reconcilePullRequests(ctx, repo); err != nil {
		r.recorder.Event(repo, corev1.EventTypeWarning, ReasonFetchFailed, "pull request discovery: "+err.Error())
	}
	return ctrl.Result{RequeueAfter: jitter.JitteredIntervalDuration(r.interval(repo))}, nil
}

// interval is the repository's interval, raised to the minimum.
func (r *Reconciler) interval(repo *krtv1.WorkflowRepository) time.Duration {
	if repo.Spec.Interval.Duration <= 0 {
		return max(time.Minute, r.minInterval)
	}
	return max(repo.Spec.Interval.Duration, r.minInterval)
}

// intervalNote says, on the Ready message, that the interval was raised.
func (r *Reconciler) intervalNote(repo *krtv1.WorkflowRepository) string {
	d := repo.Spec.Interval.Duration
	if d <= 0 || d >= r.minInterval {
		return ""
	}
	return fmt.Sprintf("; interval %s is below the minimum %s, so it is checked every %s (krt-controller --min-interval)", d, r.minInterval, r.minInterval)
}

func timeout(repo *krtv1.WorkflowRepository) time.Duration {
	if repo.Spec.Timeout == nil || repo.Spec.Timeout.Duration <= 0 {
		return time.Minute
	}
	return repo.Spec.Timeout.Duration
}

// reconcileRevision resolves the revision and, if it is new (or the spec or
// a reconcile request asks), builds, validates and applies the folder.
func (r *Reconciler) reconcileRevision(ctx context.Context, repo *krtv1.WorkflowRepository) error {
	ctx, cancel := context.WithTimeout(ctx, timeout(repo))
	defer cancel()
	snap, err := r.resolve(ctx, repo)
	if err != nil {
		return err
	}
	previous := ""
	if repo.Status.Artifact != nil {
		previous = repo.Status.Artifact.Revision
	}
	requested, _ := meta.ReconcileAnnotationValue(repo.GetAnnotations())
	if snap.revision == previous && repo.Generation == repo.Status.ObservedGeneration &&
		requested == repo.Status.LastHandledReconcileAt && contentHandled(repo) {
		return nil // unchanged: one ls-remote, nothing more
	}
	conditions.MarkReconciling(repo, ReasonProgressing, "building %s", snap.revision)
	files, err := snap.read()
	if err != nil {
		return err
	}
	if err := r.reconcileContent(ctx, repo, snap.revision, files); err != nil {
		return nil // recorded on the conditions; the fetch itself worked
	}
	if snap.revision != previous {
		now := metav1.NewTime(r.now())
		repo.Status.Artifact = &krtv1.Artifact{Revision: snap.revision, LastUpdateTime: &now}
		if previous != "" {
			r.recordPush(repo, snap, previous)
		}
	}
	return nil
}

// contentHandled reports whether the last revision was built, validated
// and applied, whatever it held: only a fetch or apply failure is retried
// at the same revision.
func contentHandled(repo *krtv1.WorkflowRepository) bool {
	reason := conditions.GetReason(repo, krtv1.ConditionReady)
	return reason == ReasonSucceeded || reason == ReasonValidationFailed
}

// configError is a problem only an edit of the spec or a Secret fixes.
type configError struct{ err error }

func (e *configError) Error() string { return e.err.Error() }
func (e *configError) Unwrap() error { return e.err }

// recordPush notes a new revision of a followed branch, with the paths it
// changed, for on.push triggers. The newest pushes are kept.
func (r *Reconciler) recordPush(repo *krtv1.WorkflowRepository, snap *snapshot, previous string) {
	ev := krtv1.PushEvent{Revision: snap.revision, Before: previous, Branch: snap.branch, Time: metav1.NewTime(r.now())}
	paths, truncated, err := snap.changed(commitOf(previous))
	if err != nil {
		truncated = true // unknown changes match any paths filter
	}
	ev.ChangedPaths, ev.PathsTruncated = paths, truncated
	repo.Status.Pushes = append(repo.Status.Pushes, ev)
	if n := len(repo.Status.Pushes); n > maxPushes {
		repo.Status.Pushes = repo.Status.Pushes[n-maxPushes:]
	}
	r.recorder.Eventf(repo, corev1.EventTypeNormal, "NewRevision", "%s (was %s)", snap.revision, previous)
}

const maxPushes = 20

// commitOf takes the hash out of a revision such as main@sha1:<hash>.
func commitOf(revision string) string {
	for i := len(revision) - 1; i >= 0; i-- {
		if revision[i] == ':' {
			return revision[i+1:]
		}
	}
	return revision
}

// content reports a summary message for Ready.
func summary(revision string, applied []krtv1.AppliedObject, errs []krtv1.ParseError) string {
	msg := fmt.Sprintf("applied %d objects at %s", len(applied), revision)
	if len(errs) > 0 {
		msg += fmt.Sprintf("; %d files have errors, first: %s:%d: %s", countFiles(errs), errs[0].File, errs[0].Line, errs[0].Message)
	}
	return msg
}

func countFiles(errs []krtv1.ParseError) int {
	files := map[string]bool{}
	for _, e := range errs {
		files[e.File] = true
	}
	return len(files)
}
