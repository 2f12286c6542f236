package trigger

// Pull request runs of a repository with pullRequests.definitionsFrom:
// head. The rules, which the README repeats:
//
//   - The head decides what runs, as if it were the base branch for this
//     PR alone. Every Workflow in the head's folder whose own on.pullRequest
//     (and on.when) matches the PR runs, with the head's definition and the
//     Tools its steps use as the head defines them (else the namespace's
//     Tools the repository does not define, as validation assumed). A
//     workflow that only the head has runs too; one the head deletes, or
//     whose head copy drops on.pullRequest, does not. The base branch's
//     Workflow objects are not asked, so a PR that changes a workflow's
//     triggers is run by them.
//   - The trust policy is the base's: the repository's spec, never the
//     head. Only a same-repository head pushed by a user in
//     allowedAuthors runs at once (trusted, in match.go); with no
//     allowedAuthors, no head does. Every other head gets its runs
//     created with requireApproval, so the engine holds them in
//     AwaitingApproval for an approval of that head SHA before any step
//     runs or the run joins its concurrency group. Before that, only CEL
//     is evaluated (on.when, param defaults, the concurrency group), under
//     the cost limit and deadline.
//   - A head-defined run's concurrency group is put under
//     pull-request-head/, so it never shares a group with a base-defined
//     run: a head cannot cancel a base branch's deploy, or hold it.
//   - A head workflow may not take the name of a Workflow that another
//     repository owns or that was applied by hand: its runs would pose as
//     that workflow's (its approvers, its commit status). That is an event
//     on the repository, and no run.
//   - A head is read with the source controller's own code, so a file that
//     fails to parse or validate is bad as a whole, as on the base branch.
//     The runs of the workflows such a file defines (by the head's
//     documents if they parsed, else by the base's Workflow from that file)
//     are created Failed, with file:line: field: reason in their message,
//     and report that to the git provider. An error no run can carry (a
//     new file that does not parse) is a Warning event on the repository.
//   - A fetch that fails is a Warning event on the repository, and is
//     retried with backoff.
//   - Runs are named as base-defined runs are, <workflow>-pr<N>-<sha7>: one
//     PR event is one run across restarts, and switching a repository
//     between base and head does not run a head twice.
//
// Repositories on base definitions never reach this controller: their
// PR runs fetch nothing.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"slices"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/util/workqueue"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	krtv1 "krt.dev/krt/api/v1alpha1"
	"krt.dev/krt/controllers/source"
	"krt.dev/krt/sources/git"
)

// Events on a repository whose PR heads could not be run.
const (
	ReasonHeadFetchFailed = "HeadFetchFailed"
	ReasonHeadInvalid     = "HeadInvalid"
)

// heads makes the PR runs of repositories whose definitions come from the
// PR head.
type heads struct {
	*Reconciler
	reader *source.HeadReader

	// apiReader reads a repository past the cache, to merge its record
	// with the latest after a conflict.
	apiReader client.Reader

	mu sync.Mutex
	// handled are, by repository, the PR events whose runs are all
	// recorded in its status.handledRuns: a status write that changed
	// another PR reads no head again. It is only memory; after a restart
	// each open PR's head is read once more (from the cache, without a
	// fetch) and finds its runs in the record.
	handled map[types.NamespacedName]map[string]bool
}

func setupHeads(mgr ctrl.Manager, r *Reconciler, opts Options) error {
	cache := opts.GitCache
	if cache == nil {
		// A private cache: a second Cache on the source controller's
		// directory would not share its locks.
		dir, err := os.MkdirTemp("", "krt-git-heads-")
		if err != nil {
			return err
		}
		if cache, err = git.NewCache(dir); err != nil {
			return err
		}
	}
	h := &heads{Reconciler: r, reader: source.NewHeadReader(mgr.GetClient(), mgr.GetAPIReader(), cache, r.expr),
		apiReader: mgr.GetAPIReader(), handled: map[types.NamespacedName]map[string]bool{}}
	return ctrl.NewControllerManagedBy(mgr).
		Named("prheads").
		For(&krtv1.WorkflowRepository{}, builder.WithPredicates(headRepos())).
		WithOptions(controller.Options{MaxConcurrentReconciles: max(opts.Workers, 1), RateLimiter: headsRateLimiter()}).
		Complete(h)
}

// headRepos passes repositories on head definitions (or leaving them, to
// forget them) whose PRs or spec changed.
func headRepos() predicate.Predicate {
	isHead := func(o client.Object) bool {
		repo, ok := o.(*krtv1.WorkflowRepository)
		return ok && headDefinitions(repo.Spec.PullRequests)
	}
	return predicate.Funcs{
		CreateFunc:  func(e event.CreateEvent) bool { return isHead(e.Object) },
		DeleteFunc:  func(e event.DeleteEvent) bool { return isHead(e.Object) },
		GenericFunc: func(e event.GenericEvent) bool { return isHead(e.Object) },
		UpdateFunc: func(e event.UpdateEvent) bool {
			if !isHead(e.ObjectOld) && !isHead(e.ObjectNew) {
				return false
			}
			return e.ObjectOld.GetGeneration() != e.ObjectNew.GetGeneration() || eventsChanged().Update(e)
		},
	}
}

// headsRateLimiter backs off a head that cannot be fetched up to five
// minutes: a repository that is down costs a few tries an hour.
func headsRateLimiter() workqueue.TypedRateLimiter[reconcile.Request] {
	return workqueue.NewTypedItemExponentialFailureRateLimiter[reconcile.Request](time.Second, 5*time.Minute)
}

// Reconcile runs the repository's PR events that have not been handled.
// An error (a fetch, the API) retries the events it left, with backoff.
func (h *heads) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	repo := &krtv1.WorkflowRepository{}
	if err := h.client.Get(ctx, req.NamespacedName, repo); err != nil {
		if apierrors.IsNotFound(err) {
			h.forget(req.NamespacedName)
		}
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	if !headDefinitions(repo.Spec.PullRequests) || !repo.DeletionTimestamp.IsZero() {
		h.forget(req.NamespacedName)
		return ctrl.Result{}, nil
	}
	todo := h.pending(repo)
	if len(todo) == 0 {
		return ctrl.Result{}, nil
	}
	hs, err := h.reader.Open(ctx, repo)
	if err != nil {
		h.recorder.Eventf(repo, corev1.EventTypeWarning, ReasonHeadFetchFailed, "listing pull request heads: %v", err)
		return ctrl.Result{}, err
	}
	base, err := h.workflowsByName(ctx, repo.Namespace)
	if err != nil {
		return ctrl.Result{}, err
	}
	var errs []error
	var done []string
	rec := newHandled(repo.Status.HandledRuns)
	for _, pr := range todo {
		if err := h.runHead(ctx, repo, hs, base, pr, rec); err != nil {
			errs = append(errs, fmt.Errorf("pull request #%d: %w", pr.Number, err))
			continue
		}
		done = append(done, prKey(repo, pr))
	}
	if rec.changed {
		if err := h.saveRecord(ctx, repo, rec); err != nil {
			// Unrecorded, the events are not done: they are read again.
			return ctrl.Result{}, errors.Join(append(errs, err)...)
		}
	}
	for _, k := range done {
		h.done(req.NamespacedName, k)
	}
	return ctrl.Result{}, errors.Join(errs...)
}

// pending lists the PR events that may run and are not handled yet, and
// forgets the handled events that are no longer in status.
func (h *heads) pending(repo *krtv1.WorkflowRepository) []*krtv1.PullRequest {
	key := types.NamespacedName{Namespace: repo.Namespace, Name: repo.Name}
	h.mu.Lock()
	defer h.mu.Unlock()
	was := h.handled[key]
	now := map[string]bool{}
	var out []*krtv1.PullRequest
	for i := range repo.Status.PullRequests {
		pr := &repo.Status.PullRequests[i]
		if !mayRun(repo.Spec.PullRequests, pr) {
			continue
		}
		k := prKey(repo, pr)
		if was[k] {
			now[k] = true
		} else {
			out = append(out, pr)
		}
	}
	h.handled[key] = now
	return out
}

func (h *heads) done(key types.NamespacedName, pr string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.handled[key] == nil {
		h.handled[key] = map[string]bool{}
	}
	h.handled[key][pr] = true
}

func (h *heads) forget(key types.NamespacedName) {
	h.mu.Lock()
	defer h.mu.Unlock()
	delete(h.handled, key)
}

// mayRun applies what the repository's policy says of a PR, before any
// workflow's trigger is known: a closed PR, or one into a base branch the
// policy leaves out, is not worth a fetch.
func mayRun(pol *krtv1.PullRequestPolicy, pr *krtv1.PullRequest) bool {
	return pr.Action != "closed" && matchAny(pol.Branches, pr.Base)
}

// prKey names one recorded PR event: any change to it (a new head, an
// action, draft or not) or to the repository's spec is a new event.
func prKey(repo *krtv1.WorkflowRepository, pr *krtv1.PullRequest) string {
	data, _ := json.Marshal(pr)
	return fmt.Sprintf("%d/%s", repo.Generation, data)
}

// workflowsByName are the namespace's Workflows, from every repository
// and none: a head's workflow is checked against them by name.
func (h *heads) workflowsByName(ctx context.Context, ns string) (map[string]*krtv1.Workflow, error) {
	list := &krtv1.WorkflowList{}
	if err := h.client.List(ctx, list, client.InNamespace(ns)); err != nil {
		return nil, err
	}
	out := make(map[string]*krtv1.Workflow, len(list.Items))
	for i := range list.Items {
		out[list.Items[i].Name] = &list.Items[i]
	}
	return out, nil
}

// runHead reads one PR event's head and creates its runs, but those that
// have run: named in rec, or in the record of the Workflow of their name
// (a repository moved from base to head definitions).
func (h *heads) runHead(ctx context.Context, repo *krtv1.WorkflowRepository, hs *source.Heads,
	base map[string]*krtv1.Workflow, pr *krtv1.PullRequest, rec *handledSet) error {
	head, err := hs.Read(ctx, pr)
	if err != nil {
		h.recorder.Eventf(repo, corev1.EventTypeWarning, ReasonHeadFetchFailed,
			"pull request #%d at %s: %v", pr.Number, shortSHA(pr.HeadSHA), err)
		return err
	}
	plan := planHead(repo, head, base, pr)
	for _, msg := range plan.unrun {
		h.recorder.Eventf(repo, corev1.EventTypeWarning, ReasonHeadInvalid,
			"pull request #%d at %s: %s", pr.Number, shortSHA(pr.HeadSHA), msg)
	}
	env := h.expr.ForEvent()
	for _, hr := range plan.runs {
		if rec.has(hr.c.name) || (base[hr.wf.Name] != nil && slices.Contains(base[hr.wf.Name].Status.HandledRuns, hr.c.name)) {
			continue
		}
		if err := h.start(ctx, env, repo, head, hr, rec); err != nil {
			return err
		}
	}
	return nil
}
