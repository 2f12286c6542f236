package trigger

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/fluxcd/pkg/runtime/conditions"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/tools/record"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/predicate"

	krtv1 "krt.dev/krt/api/v1alpha1"
	"krt.dev/krt/sources/provider"
	"krt.dev/krt/workflows/runs"
)

// AnnotationReportedState on a WorkflowRun is the commit status state
// last reported for it, so each state is reported once, across restarts.
const AnnotationReportedState = "krt.dev/reported-state"

// ReasonReportFailed is the event of a commit status the provider
// refused; the run itself goes on.
const ReasonReportFailed = "CommitStatusFailed"

const callTimeout = 30 * time.Second

// Reporter sets a commit status on the head of each push and pull
// request run, when it starts and when it ends. A status says the run's
// phase and links to the run, nothing more: statuses are public on a
// public repository, and a run's message holds what its steps printed.
type Reporter struct {
	client   client.Client
	secrets  client.Reader // uncached: watching every Secret is not ours to do
	http     *http.Client
	recorder record.EventRecorder
	runURL   *RunURL
}

func setupReporter(mgr ctrl.Manager, opts Options) error {
	runURL, err := ParseRunURL(opts.RunURL)
	if err != nil {
		return err
	}
	rep := &Reporter{client: mgr.GetClient(), secrets: mgr.GetAPIReader(), http: opts.HTTPClient,
		recorder: mgr.GetEventRecorderFor("krt-commit-status"), runURL: runURL}
	return ctrl.NewControllerManagedBy(mgr).
		Named("commitstatus").
		For(&krtv1.WorkflowRun{}, builder.WithPredicates(reportable())).
		WithOptions(controller.Options{MaxConcurrentReconciles: 2, RateLimiter: reporterRateLimiter()}).
		Complete(rep)
}

// reportable passes runs of a commit whose phase moved: nothing else
// changes what the provider shows.
func reportable() predicate.Predicate {
	ofCommit := func(o client.Object) bool {
		wr, ok := o.(*krtv1.WorkflowRun)
		return ok && headOf(wr) != ""
	}
	return predicate.Funcs{
		CreateFunc:  func(e event.CreateEvent) bool { return ofCommit(e.Object) },
		DeleteFunc:  func(event.DeleteEvent) bool { return false },
		GenericFunc: func(event.GenericEvent) bool { return false },
		UpdateFunc: func(e event.UpdateEvent) bool {
			old, ok1 := e.ObjectOld.(*krtv1.WorkflowRun)
			new, ok2 := e.ObjectNew.(*krtv1.WorkflowRun)
			return ok1 && ok2 && ofCommit(new) && old.Status.Phase != new.Status.Phase
		},
	}
}

// Reconcile reports the run's state if it is not the one last reported.
// A failure is an event on the run, retried with backoff; it never fails
// the run.
func (r *Reporter) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	wr := &krtv1.WorkflowRun{}
	if err := r.client.Get(ctx, req.NamespacedName, wr); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	state, desc := stateOf(wr)
	sha := headOf(wr)
	if state == "" || sha == "" || wr.Annotations[AnnotationReportedState] == state {
		return ctrl.Result{}, nil
	}
	rep, err := r.reporterFor(ctx, wr)
	if err == nil && rep == nil {
		return ctrl.Result{}, nil // a provider without commit statuses
	}
	if err == nil {
		// A provider that hangs must not hold a worker for good.
		callCtx, cancel := context.WithTimeout(ctx, callTimeout)
		err = rep.SetStatus(callCtx, provider.Status{SHA: sha, Context: "krt/" + wr.Spec.Workflow, State: state,
			Description: desc, TargetURL: r.runURL.For(wr)})
		cancel()
	}
	if err != nil {
		r.recorder.Eventf(wr, corev1.EventTypeWarning, ReasonReportFailed, "reporting %s on %s: %v", state, sha, err)
		return ctrl.Result{}, err
	}
	base := wr.DeepCopy()
	if wr.Annotations == nil {
		wr.Annotations = map[string]string{}
	}
	wr.Annotations[AnnotationReportedState] = state
	return ctrl.Result{}, client.IgnoreNotFound(r.client.Patch(ctx, wr, client.MergeFrom(base)))
}

// headOf is the commit a run is about: a PR's head, or the pushed
// revision; none for schedule and manual runs.
func headOf(wr *krtv1.WorkflowRun) string {
	switch ev := wr.Spec.Event; {
	case ev.Type == krtv1.EventPullRequest && ev.PullRequest != nil:
		return ev.PullRequest.HeadSHA
	case ev.Type == krtv1.EventPush && ev.Push != nil:
		return runs.CommitOf(ev.Push.Revision)
	}
	return ""
}

// stateOf maps a run's phase onto a commit status, with its description.
// A run not yet begun reports nothing: it may still be cancelled unseen.
// The description is the phase's own words, never the run's message,
// which quotes a failed step's output.
func stateOf(wr *krtv1.WorkflowRun) (string, string) {
	if conditions.GetReason(wr, krtv1.ConditionReady) == krtv1.ReasonRerunRefused {
		// Its event is whatever its creator wrote: it must not mark
		// their chosen commit as failing.
		return "", ""
	}
	switch wr.Status.Phase {
	case krtv1.WorkflowPending:
		return provider.Pending, "queued"
	case krtv1.WorkflowAwaitingApproval:
		return provider.Pending, "waiting for approval"
	case krtv1.WorkflowRunning:
		return provider.Pending, "running"
	case krtv1.WorkflowSucceeded:
		return provider.Success, "succeeded"
	case krtv1.WorkflowFailed:
		return provider.Failure, "failed"
	case krtv1.WorkflowCancelled:
		return provider.Error, "cancelled"
	}
	return "", ""
}

// reporterFor builds the provider client of the run's repository, nil
// when the repository has no commit statuses to set.
func (r *Reporter) reporterFor(ctx context.Context, wr *krtv1.WorkflowRun) (provider.Reporter, error) {
	repo, err := repositoryOf(ctx, r.client, wr)
	if err != nil || repo == nil || repo.Spec.PullRequests == nil {
		return nil, err
	}
	pol := repo.Spec.PullRequests
	if pol.Provider != "github" && pol.Provider != "gitlab" {
		return nil, nil
	}
	if repo.Spec.URL == "" {
		return nil, fmt.Errorf("repository %s has no url to find its %s project by", repo.Name, pol.Provider)
	}
	token, err := r.token(ctx, repo)
	if err != nil {
		return nil, err
	}
	return provider.New(pol.Provider, repo.Spec.URL, pol.APIURL, token, r.http)
}

// token is the repository Secret's bearerToken, else its password (a
// personal access token used for HTTPS).
func (r *Reporter) token(ctx context.Context, repo *krtv1.WorkflowRepository) (string, error) {
	if repo.Spec.SecretRef == nil {
		return "", nil
	}
	s := &corev1.Secret{}
	if err := r.secrets.Get(ctx, client.ObjectKey{Namespace: repo.Namespace, Name: repo.Spec.SecretRef.Name}, s); err != nil {
		return "", fmt.Errorf("reading the repository's secret: %w", err)
	}
	if t := s.Data["bearerToken"]; len(t) > 0 {
		return string(t), nil
	}
	return string(s.Data["password"]), nil
}

// repositoryOf finds a run's repository through its Workflow's label,
// else the run's own; nil when there is none.
func repositoryOf(ctx context.Context, c client.Reader, wr *krtv1.WorkflowRun) (*krtv1.WorkflowRepository, error) {
	name := wr.Labels[krtv1.LabelRepository]
	wf := &krtv1.Workflow{}
	err := c.Get(ctx, client.ObjectKey{Namespace: wr.Namespace, Name: wr.Spec.Workflow}, wf)
	if client.IgnoreNotFound(err) != nil {
		return nil, err
	}
	if err == nil {
		name = wf.Labels[krtv1.LabelRepository]
	}
	if name == "" {
		return nil, nil
	}
	repo := &krtv1.WorkflowRepository{}
	if err := c.Get(ctx, client.ObjectKey{Namespace: wr.Namespace, Name: name}, repo); err != nil {
		return nil, client.IgnoreNotFound(err)
	}
	return repo, nil
}
