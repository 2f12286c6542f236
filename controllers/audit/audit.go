// Package audit keeps a WorkflowRun's audit trail: who triggered,
// approved, rejected or cancelled it, and when. Each action is recorded
// three ways: in the run's bounded status.history, as an Event on the
// run, and as one structured log line of the controller. The names come
// from fields that admission policies make the writer's own, so the trail
// says who did what as the API server authenticated them.
package audit

import (
	"context"
	"fmt"

	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/record"
	ctrl "sigs.k8s.io/controller-runtime"

	krtv1 "krt.dev/krt/api/v1alpha1"
)

// Self asks the API server who cfg authenticates as. A controller writes
// its own name where the admission policies want the writer's, and only
// the API server's word for it passes them.
func Self(ctx context.Context, cfg *rest.Config) (string, error) {
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return "", err
	}
	rev, err := cs.AuthenticationV1().SelfSubjectReviews().Create(ctx, &authenticationv1.SelfSubjectReview{}, metav1.CreateOptions{})
	if err != nil {
		return "", fmt.Errorf("asking the API server who the controller is: %w", err)
	}
	if rev.Status.UserInfo.Username == "" {
		return "", fmt.Errorf("the API server did not say who the controller is")
	}
	return rev.Status.UserInfo.Username, nil
}

// decisionSlots is how many approve and reject entries a history keeps:
// the trigger and the cancel always have their place, so a flood of
// Approvals cannot push out who started or stopped the run.
const decisionSlots = krtv1.MaxHistory - 2

// key names what an entry is about, so that one action is recorded once
// however many passes see it.
func key(e *krtv1.AuditEntry) string {
	switch {
	case e.Approval != "":
		return "approval/" + e.Approval
	case e.Action == krtv1.AuditRerun:
		return krtv1.AuditTrigger
	}
	return e.Action
}

// Merge adds to st.History the actions it does not hold yet, in order,
// and returns those that are new: the ones to report. A decision that
// finds the history's decision slots full is left out and counted in
// st.HistoryOmitted; it is still returned, once, to be reported.
func Merge(st *krtv1.WorkflowRunStatus, actions []krtv1.AuditEntry) []krtv1.AuditEntry {
	held := make(map[string]bool, len(st.History))
	decisions := 0
	for i := range st.History {
		held[key(&st.History[i])] = true
		if st.History[i].Approval != "" {
			decisions++
		}
	}
	var added, omitted []krtv1.AuditEntry
	for _, e := range actions {
		k := key(&e)
		if held[k] {
			continue
		}
		held[k] = true
		isDecision := e.Approval != ""
		if (isDecision && decisions >= decisionSlots) || len(st.History) >= krtv1.MaxHistory {
			omitted = append(omitted, e)
			continue
		}
		if isDecision {
			decisions++
		}
		st.History = append(st.History, e)
		added = append(added, e)
	}
	// The omitted ones come oldest first, so those past the count already
	// reported are the new ones.
	if n := int32(len(omitted)); n > st.HistoryOmitted {
		added = append(added, omitted[st.HistoryOmitted:]...)
		st.HistoryOmitted = n
	}
	return added
}

// reasons are the Events' reasons, one per action.
var reasons = map[string]string{
	krtv1.AuditTrigger: "Triggered",
	krtv1.AuditRerun:   "Rerun",
	krtv1.AuditApprove: "Approved",
	krtv1.AuditReject:  "Rejected",
	krtv1.AuditCancel:  "CancelRequested",
}

// Unknown stands for a user the run does not name.
const Unknown = "<unknown>"

// Report gives each new entry its Event on the run and its audit log line.
func Report(ctx context.Context, rec record.EventRecorder, wr *krtv1.WorkflowRun, entries []krtv1.AuditEntry) {
	log := ctrl.LoggerFrom(ctx)
	for _, e := range entries {
		user := e.User
		if user == "" {
			user = Unknown
		}
		msg := e.Action + " by " + user
		if e.Detail != "" {
			msg += ": " + e.Detail
		}
		rec.Event(wr, corev1.EventTypeNormal, reasons[e.Action], msg)
		log.Info("audit", "action", e.Action, "user", e.User, "workflowRun", wr.Name, "namespace", wr.Namespace,
			"time", e.Time.UTC(), "detail", e.Detail)
	}
}
