// Package trigger turns Workflows and their events into WorkflowRuns: the
// pushes and pull requests the source controller records on a
// WorkflowRepository, and cron ticks. It also reports the runs of pushes
// and pull requests back to the git provider as commit statuses.
package trigger

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/fluxcd/pkg/runtime/conditions"
	"github.com/fluxcd/pkg/runtime/patch"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	kerrors "k8s.io/apimachinery/pkg/util/errors"
	"k8s.io/client-go/tools/record"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	krtv1 "krt.dev/krt/api/v1alpha1"
	"krt.dev/krt/workflows/dag"
	"krt.dev/krt/workflows/expr"
	"krt.dev/krt/workflows/runs"
)

// The trigger controller's rights (make generate writes them into the
// ClusterRole krt-controller-trigger): it reads Workflows, their
// repositories and Tools, creates WorkflowRuns and marks the state it
// reported, deletes the runs runRetention lets go, records the events it handled in the status of Workflows and
// (for PR heads) of repositories, and reads a repository's token Secret
// by name to report commit statuses.
//
// +kubebuilder:rbac:groups=krt.dev,resources=workflows,verbs=get;list;watch
// +kubebuilder:rbac:groups=krt.dev,resources=workflows/status,verbs=get;update;patch
// +kubebuilder:rbac:groups=krt.dev,resources=workflowrepositories;tools,verbs=get;list;watch
// +kubebuilder:rbac:groups=krt.dev,resources=workflowrepositories/status,verbs=get;patch
// +kubebuilder:rbac:groups=krt.dev,resources=workflowruns,verbs=get;list;watch;create;patch;delete
// +kubebuilder:rbac:groups="",resources=secrets,verbs=get
// +kubebuilder:rbac:groups="",resources=events,verbs=create;patch

// Reasons on a Workflow's Ready condition.
const (
	ReasonArmed           = "TriggersArmed"
	ReasonWhenFailed      = "WhenFailed"
	ReasonInvalidSchedule = "InvalidSchedule"
	ReasonTriggerFailed   = "TriggerFailed"
)

// Reconciler creates the WorkflowRuns of a Workflow's events.
type Reconciler struct {
	client   client.Client
	expr     *expr.Env
	recorder record.EventRecorder
	now      func() time.Time
	// self is the controller's own name as the API server knows it,
	// written as each run's triggeredBy: the audit admission policy
	// admits no other.
	self string
}

// problem is why an event started no run; it shows on Ready, and waits
// for the workflow or its tools to change rather than being retried.
type problem struct{ reason, msg string }

// Reconcile creates a run for each event that should have one and has
// none, and patches the workflow's status once at the end.
func (r *Reconciler) Reconcile(ctx context.Context, req ctrl.Request) (result ctrl.Result, retErr error) {
	wf := &krtv1.Workflow{}
	if err := r.client.Get(ctx, req.NamespacedName, wf); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	if !wf.DeletionTimestamp.IsZero() {
		return ctrl.Result{}, nil
	}
	patcher := patch.NewSerialPatcher(wf, r.client)
	defer func() {
		err := patcher.Patch(ctx, wf, patch.WithStatusObservedGeneration{},
			patch.WithOwnedConditions{Conditions: []string{krtv1.ConditionReady}})
		retErr = kerrors.NewAggregate([]error{retErr, client.IgnoreNotFound(err)})
	}()
	repo, err := r.repository(ctx, wf)
	if err != nil {
		return ctrl.Result{}, err
	}
	now := r.now()
	cands := append(pushCandidates(wf, repo), prCandidates(wf, repo)...)
	var probs []problem
	sched, next, err := scheduleCandidates(wf, now)
	if err != nil {
		probs = append(probs, problem{ReasonInvalidSchedule, err.Error()})
	}
	cands = append(cands, sched...)
	rec := newHandled(wf.Status.HandledRuns)
	created, fireProbs, err := r.fire(ctx, wf, cands, rec, handledByRepo(repo))
	probs = append(probs, fireProbs...)
	list, lerr := r.runsOf(ctx, wf)
	var doomed []*krtv1.WorkflowRun
	if lerr == nil {
		var expiry time.Time
		doomed, expiry = expired(wf, list, now)
		if next.IsZero() || (!expiry.IsZero() && expiry.Before(next)) {
			next = expiry
		}
		// A run retention deletes is recorded first, saved before it
		// goes: its event must not run again. A manual run has no event
		// to repeat.
		for _, d := range doomed {
			if d.Spec.Event.Type != krtv1.EventManual {
				rec.add(d.Name)
			}
		}
	}
	if err == nil && rec.changed {
		err = r.saveRecord(ctx, wf, rec, candidateNames(cands))
	}
	if err == nil {
		err = r.prune(ctx, wf, doomed)
	}
	if lerr == nil {
		setLastRun(wf, created, without(list, doomed))
	} else if err == nil {
		err = lerr
	}
	markReady(wf, probs)
	if !next.IsZero() {
		result.RequeueAfter = max(next.Sub(now), time.Millisecond)
	}
	return result, err
}

// repository is the workflow's WorkflowRepository, or nil for a workflow
// applied by hand or whose repository is gone: it then has no push or PR
// events.
func (r *Reconciler) repository(ctx context.Context, wf *krtv1.Workflow) (*krtv1.WorkflowRepository, error) {
	name := wf.Labels[krtv1.LabelRepository]
	if name == "" {
		return nil, nil
	}
	repo := &krtv1.WorkflowRepository{}
	if err := r.client.Get(ctx, client.ObjectKey{Namespace: wf.Namespace, Name: name}, repo); err != nil {
		return nil, client.IgnoreNotFound(err)
	}
	return repo, nil
}

// fire creates the runs of the candidates that have not run, and whose
// on.when holds, and adds them to rec. An event has run when rec or
// elsewhere (the repository's record of PR heads) names its run, or when
// the run is there (made before there were records). It returns the runs
// it created, what kept others from starting, and an API error to retry
// on.
func (r *Reconciler) fire(ctx context.Context, wf *krtv1.Workflow, cands []candidate, rec *handledSet,
	elsewhere func(string) bool) ([]string, []problem, error) {
	var created []string
	var probs []problem
	var tools []krtv1.NamedTool
	toolsRead := false
	for _, c := range cands {
		if rec.has(c.name) || elsewhere(c.name) {
			continue
		}
		exists, err := r.exists(ctx, wf.Namespace, c.name)
		if err != nil {
			return created, probs, err
		}
		if exists {
			rec.add(c.name)
			continue
		}
		// Everything evaluated for one event shares one budget.
		env := r.expr.ForEvent()
		if ok, err := r.when(ctx, env, wf, c); err != nil || !ok {
			if err != nil {
				probs = append(probs, problem{ReasonWhenFailed, fmt.Sprintf("on.when for %s: %v", c.what, err)})
			}
			continue
		}
		if !toolsRead {
			// Read once, and only when a run is due.
			if tools, err = runs.LookupTools(ctx, r.client, wf); err != nil {
				probs = append(probs, problem{ReasonTriggerFailed, err.Error()})
				return created, probs, nil
			}
			toolsRead = true
		}
		ok, err := r.create(ctx, env, wf, tools, c)
		var p *problem
		switch {
		case errors.As(err, &p):
			probs = append(probs, *p)
		case err != nil:
			return created, probs, err
		case ok:
			created = append(created, c.name)
			rec.add(c.name)
		default: // it was there already
			rec.add(c.name)
		}
	}
	return created, probs, nil
}

// exists asks the cache first; a run it has not seen yet makes Create
// fail with AlreadyExists, which means the same.
func (r *Reconciler) exists(ctx context.Context, ns, name string) (bool, error) {
	err := r.client.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, &krtv1.WorkflowRun{})
	if apierrors.IsNotFound(err) {
		return false, nil
	}
	return err == nil, err
}

func (r *Reconciler) when(ctx context.Context, env *expr.Env, wf *krtv1.Workflow, c candidate) (bool, error) {
	if wf.Spec.On.When == "" {
		return true, nil
	}
	ev, err := runs.EventVars(c.event, wf.Annotations[krtv1.AnnotationRevision])
	if err != nil {
		return false, err
	}
	return env.EvalBool(ctx, wf.Spec.On.When, expr.Vars{Event: ev})
}

func (p *problem) Error() string { return p.msg }

// create makes one run; it reports false when the run was already there.
// A run that cannot be built is a *problem, not an error to retry.
func (r *Reconciler) create(ctx context.Context, env *expr.Env, wf *krtv1.Workflow, tools []krtv1.NamedTool, c candidate) (bool, error) {
	wr, err := runs.NewRun(wf, tools, c.event, c.name, nil, env)
	if err != nil {
		return false, &problem{ReasonTriggerFailed, fmt.Sprintf("%s: %v", c.what, err)}
	}
	return r.submit(ctx, wr, c, wf)
}

// submit creates a built run, holding it for an approval if the event
// needs one, and notes it on about. It reports false when the run was
// already there; a run the API server refuses is a *problem.
func (r *Reconciler) submit(ctx context.Context, wr *krtv1.WorkflowRun, c candidate, about client.Object) (bool, error) {
	wr.Spec.RequireApproval = c.requireApproval
	wr.Spec.TriggeredBy = r.self
	err := r.client.Create(ctx, wr)
	if apierrors.IsAlreadyExists(err) {
		return false, nil
	}
	if apierrors.IsInvalid(err) {
		return false, &problem{ReasonTriggerFailed, fmt.Sprintf("%s: %v", c.what, err)}
	}
	if err != nil {
		return false, err
	}
	r.recorder.Eventf(about, corev1.EventTypeNormal, "Triggered", "created %s for %s", wr.Name, c.what)
	return true, nil
}

// runsOf lists the workflow's runs, including those the CLI made.
func (r *Reconciler) runsOf(ctx context.Context, wf *krtv1.Workflow) ([]krtv1.WorkflowRun, error) {
	list := &krtv1.WorkflowRunList{}
	err := r.client.List(ctx, list, client.InNamespace(wf.Namespace),
		client.MatchingLabels{runs.LabelWorkflow: dag.LabelValue(wf.Name)})
	return list.Items, err
}

// setLastRun names the newest run of the workflow. The runs created just
// now may not be in the cache yet; they are the newest.
func setLastRun(wf *krtv1.Workflow, created []string, list []krtv1.WorkflowRun) {
	if len(created) > 0 {
		wf.Status.LastRun = created[len(created)-1]
		return
	}
	var newest *krtv1.WorkflowRun
	for i := range list {
		wr := &list[i]
		if wr.Spec.Workflow == wf.Name && (newest == nil || newer(wr, newest)) {
			newest = wr
		}
	}
	if newest != nil {
		wf.Status.LastRun = newest.Name
	}
}

func newer(a, b *krtv1.WorkflowRun) bool {
	if c := a.CreationTimestamp.Compare(b.CreationTimestamp.Time); c != 0 {
		return c > 0
	}
	return cmp.Less(b.Name, a.Name)
}

// markReady sets Ready: True while every trigger can fire, else False
// with the first problem and a count of the others.
func markReady(wf *krtv1.Workflow, probs []problem) {
	if len(probs) == 0 {
		conditions.MarkTrue(wf, krtv1.ConditionReady, ReasonArmed, "triggers armed")
		return
	}
	msg := probs[0].msg
	if len(probs) > 1 {
		msg += fmt.Sprintf(" (and %d more problems)", len(probs)-1)
	}
	conditions.MarkFalse(wf, krtv1.ConditionReady, probs[0].reason, "%s", krtv1.TruncateMessage(msg))
}
