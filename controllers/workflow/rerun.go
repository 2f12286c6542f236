package workflow

import (
	"context"
	"fmt"
	"maps"
	"strings"

	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"sigs.k8s.io/controller-runtime/pkg/client"

	krtv1 "krt.dev/krt/api/v1alpha1"
)

// ReasonRerunRefused ends a rerun that does not replay a run krt started.
const ReasonRerunRefused = krtv1.ReasonRerunRefused

// maxRerunChain bounds the walk back to the run a rerun replays, so two
// forged reruns naming each other end refused rather than loop.
const maxRerunChain = 32

// rerunRefusal says why a rerun may not start, or "" when it may. Anyone
// with create on workflowruns may start a rerun of any event (the
// krt-workflowrun-origin policy lets spec.rerunOf through), but only
// krt-controller starts push, pull-request and schedule runs, and a
// Runtime's allowedWorkflows trusts the event and repository a run says it
// has. So a rerun that is not plainly manual must be a copy of a run, and
// that run of another, back to one that is not a rerun: admission let
// only krt-controller or an admin create that one.
func (p *pass) rerunRefusal(ctx context.Context) (string, error) {
	wr := p.wr
	if wr.Spec.RerunOf == "" || plainlyManual(wr) {
		return "", nil
	}
	cur := wr
	for range maxRerunChain {
		orig := &krtv1.WorkflowRun{}
		err := p.r.live.Get(ctx, client.ObjectKey{Namespace: wr.Namespace, Name: cur.Spec.RerunOf}, orig)
		switch {
		case apierrors.IsNotFound(err):
			return fmt.Sprintf("spec.rerunOf: run %s, which this %s run replays, does not exist; "+
				"trigger the workflow again instead", cur.Spec.RerunOf, wr.Spec.Event.Type), nil
		case err != nil:
			return "", err
		}
		if diff := originDiff(wr, orig); diff != "" {
			return fmt.Sprintf("spec.rerunOf: a rerun replays run %s as it was, but its %s differs", orig.Name, diff), nil
		}
		if orig.Spec.RerunOf == "" {
			return "", nil
		}
		cur = orig
	}
	return fmt.Sprintf("spec.rerunOf: more than %d reruns back to a run that is not one", maxRerunChain), nil
}

// plainlyManual is a run that claims nothing admission did not check: a
// manual event, in its creator's name, labelled as manual or not at all,
// with no other event's payload (a push's branch picks a cache scope).
func plainlyManual(wr *krtv1.WorkflowRun) bool {
	label, ok := wr.Labels[krtv1.LabelEvent]
	ev := wr.Spec.Event
	return ev.Type == krtv1.EventManual && (!ok || label == krtv1.EventManual) &&
		ev.Push == nil && ev.PullRequest == nil && ev.Schedule == nil
}

// originDiff names what a rerun changed from the run it replays: the
// spec, but for who started or cancelled either, and the krt.dev/ labels.
func originDiff(rerun, orig *krtv1.WorkflowRun) string {
	if !maps.Equal(krtLabels(rerun.Labels), krtLabels(orig.Labels)) {
		return "krt.dev/ labels"
	}
	a, b := replayed(rerun.Spec), replayed(orig.Spec)
	if !equality.Semantic.DeepEqual(a, b) {
		return "spec"
	}
	return ""
}

// replayed is what a rerun must keep of a spec: all but the names of who
// started and cancelled it and the cancel itself.
func replayed(s krtv1.WorkflowRunSpec) krtv1.WorkflowRunSpec {
	out := *s.DeepCopy()
	out.TriggeredBy, out.RerunOf, out.CancelRequested, out.CancelledBy = "", "", false, ""
	if out.Event.Manual != nil {
		out.Event.Manual = &krtv1.ManualEvent{}
	}
	return out
}

func krtLabels(labels map[string]string) map[string]string {
	out := map[string]string{}
	for k, v := range labels {
		if strings.HasPrefix(k, "krt.dev/") {
			out[k] = v
		}
	}
	return out
}
