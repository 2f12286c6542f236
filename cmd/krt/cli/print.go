package cli

import (
	"fmt"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/util/duration"
	"sigs.k8s.io/controller-runtime/pkg/client"

	krtv1 "krt.dev/krt/api/v1alpha1"
)

// The tables of krt's kinds. Wide columns add what one needs when
// something is wrong: where a Run ran and why it ended, what a run was
// made from.

var runPrinter = &printer[krtv1.Run, *krtv1.Run]{
	kind: "Run",
	list: func(items []krtv1.Run) client.ObjectList { return &krtv1.RunList{Items: items} },
	columns: []column[krtv1.Run]{
		{name: "NAME", cell: func(r *krtv1.Run, _ time.Time) string { return r.Name }},
		{name: "RUNTIME", cell: func(r *krtv1.Run, _ time.Time) string { return r.Spec.Runtime }},
		{name: "PHASE", watchWidth: len(krtv1.RunSucceeded), cell: func(r *krtv1.Run, _ time.Time) string { return string(phaseOf(r)) }},
		{name: "EXIT", cell: func(r *krtv1.Run, _ time.Time) string { return exitOf(r) }},
		{name: "POD", wide: true, cell: func(r *krtv1.Run, _ time.Time) string { return orDash(r.Status.AssignedPod) }},
		{name: "ATTEMPT", wide: true, cell: func(r *krtv1.Run, _ time.Time) string { return fmt.Sprint(r.Status.Attempt) }},
		{name: "REASON", wide: true, cell: func(r *krtv1.Run, _ time.Time) string { return orDash(r.Status.Reason) }},
		{name: "AGE", cell: func(r *krtv1.Run, now time.Time) string { return age(r, now) }},
	},
}

// workflowPrinter's LAST RUN falls back on newest (namespace/workflow to
// run name) while no controller fills status.lastRun.
func workflowPrinter(newest map[string]string) *printer[krtv1.Workflow, *krtv1.Workflow] {
	lastRun := func(wf *krtv1.Workflow, _ time.Time) string {
		if wf.Status.LastRun != "" {
			return wf.Status.LastRun
		}
		return orDash(newest[wf.Namespace+"/"+wf.Name])
	}
	return &printer[krtv1.Workflow, *krtv1.Workflow]{
		kind: "Workflow",
		list: func(items []krtv1.Workflow) client.ObjectList { return &krtv1.WorkflowList{Items: items} },
		columns: []column[krtv1.Workflow]{
			{name: "NAME", cell: func(wf *krtv1.Workflow, _ time.Time) string { return wf.Name }},
			{name: "TRIGGERS", cell: func(wf *krtv1.Workflow, _ time.Time) string { return wfTriggers(&wf.Spec.On) }},
			{name: "STEPS", cell: func(wf *krtv1.Workflow, _ time.Time) string { return fmt.Sprint(len(wf.Spec.Steps)) }},
			{name: "PARAMS", wide: true, cell: func(wf *krtv1.Workflow, _ time.Time) string { return wfParamNames(wf.Spec.Params) }},
			{name: "REVISION", wide: true, cell: func(wf *krtv1.Workflow, _ time.Time) string {
				return orDash(wfOneLine(wf.Annotations[krtv1.AnnotationRevision], wfRevisionWidth))
			}},
			{name: "LAST RUN", cell: lastRun},
			{name: "READY", cell: func(wf *krtv1.Workflow, _ time.Time) string { return wfReady(wf.Status.Conditions) }},
			{name: "AGE", cell: func(wf *krtv1.Workflow, now time.Time) string { return age(wf, now) }},
			{name: "MESSAGE", wide: true, cell: func(wf *krtv1.Workflow, _ time.Time) string {
				return orDash(wfOneLine(wfReadyMessage(wf.Status.Conditions), wfMessageWidth))
			}},
		},
	}
}

var workflowRunPrinter = &printer[krtv1.WorkflowRun, *krtv1.WorkflowRun]{
	kind: "WorkflowRun",
	list: func(items []krtv1.WorkflowRun) client.ObjectList { return &krtv1.WorkflowRunList{Items: items} },
	columns: []column[krtv1.WorkflowRun]{
		{name: "NAME", cell: func(wr *krtv1.WorkflowRun, _ time.Time) string { return wr.Name }},
		{name: "WORKFLOW", cell: func(wr *krtv1.WorkflowRun, _ time.Time) string { return wr.Spec.Workflow }},
		{name: "EVENT", cell: func(wr *krtv1.WorkflowRun, _ time.Time) string { return wfEvent(&wr.Spec.Event) }},
		{name: "PHASE", watchWidth: len(krtv1.WorkflowAwaitingApproval), cell: func(wr *krtv1.WorkflowRun, _ time.Time) string {
			return string(wfPhase(wr))
		}},
		{name: "STARTED", cell: wfStarted},
		{name: "DURATION", cell: wfDuration},
		{name: "NODES", wide: true, cell: func(wr *krtv1.WorkflowRun, _ time.Time) string {
			done, total := wfCountNodes(wr)
			return fmt.Sprintf("%d/%d", done, total)
		}},
		{name: "REVISION", wide: true, cell: func(wr *krtv1.WorkflowRun, _ time.Time) string {
			return orDash(wfOneLine(wr.Spec.Revision, wfRevisionWidth))
		}},
		{name: "MESSAGE", cell: func(wr *krtv1.WorkflowRun, _ time.Time) string {
			return orDash(wfOneLine(wfRunMessage(wr), wfMessageWidth))
		}},
	},
}

// wfRevisionWidth fits a branch and a full commit SHA.
const wfRevisionWidth = 60

func exitOf(run *krtv1.Run) string {
	if run.Status.ExitCode == nil {
		return "-"
	}
	return fmt.Sprint(*run.Status.ExitCode)
}

func age(obj client.Object, now time.Time) string {
	return duration.HumanDuration(now.Sub(obj.GetCreationTimestamp().Time))
}

func wfParamNames(params []krtv1.Param) string {
	names := make([]string, 0, len(params))
	for _, p := range params {
		names = append(names, p.Name)
	}
	return orDash(strings.Join(names, ","))
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
