package metrics

import (
	"time"

	krtv1 "krt.dev/krt/api/v1alpha1"
)

// A Run's stages in order. A retry takes a Run back to Pending; only
// forward moves are observed.
const (
	stagePending = iota
	stageScheduled
	stageRunning
	stageFinished
)

func stageOf(p krtv1.RunPhase) int {
	switch {
	case p == krtv1.RunScheduled:
		return stageScheduled
	case p == krtv1.RunRunning:
		return stageRunning
	case p.Terminal():
		return stageFinished
	}
	return stagePending
}

var transitionNames = [...]string{stageScheduled: "pending_to_scheduled", stageRunning: "scheduled_to_running",
	stageFinished: "running_to_finished"}

// observeRun observes each transition a Run passed between two versions,
// from its status times: one update may skip a phase the cache never saw.
func observeRun(old, cur *krtv1.Run) {
	from, to := stageOf(old.Status.Phase), stageOf(cur.Status.Phase)
	for s := from + 1; s <= to; s++ {
		start, end := stageTimes(cur, s)
		if start.IsZero() || end.IsZero() || end.Before(start) {
			continue
		}
		runTransition.WithLabelValues(cur.Namespace, cur.Spec.Runtime, transitionNames[s]).Observe(end.Sub(start).Seconds())
	}
}

// stageTimes are when the Run entered the stage before s and stage s.
func stageTimes(r *krtv1.Run, s int) (start, end time.Time) {
	st := r.Status
	switch s {
	case stageScheduled:
		start = r.CreationTimestamp.Time
		if st.NotBefore != nil && st.NotBefore.After(start) {
			start = st.NotBefore.Time
		}
		if st.ScheduledTime != nil {
			end = st.ScheduledTime.Time
		}
	case stageRunning:
		if st.ScheduledTime != nil {
			start = st.ScheduledTime.Time
		}
		if st.StartTime != nil {
			end = st.StartTime.Time
		}
	case stageFinished:
		if st.StartTime != nil {
			start = st.StartTime.Time
		}
		if st.CompletionTime != nil {
			end = st.CompletionTime.Time
		}
	}
	return start, end
}

// observeWorkflowRun observes the run's duration when it ends, and each
// step's as it ends.
func observeWorkflowRun(old, cur *krtv1.WorkflowRun) {
	done := map[string]bool{}
	for _, n := range old.Status.Nodes {
		if n.Phase.Done() {
			done[n.Name] = true
		}
	}
	for _, n := range cur.Status.Nodes {
		if done[n.Name] || !n.Phase.Done() || n.Started == nil || n.Finished == nil {
			continue
		}
		stepDuration.WithLabelValues(cur.Namespace, cur.Spec.Workflow, stepOf(n.Name), string(n.Phase)).
			Observe(n.Finished.Sub(n.Started.Time).Seconds())
	}
	st := cur.Status
	if old.Status.Phase.Terminal() || !st.Phase.Terminal() || st.StartTime == nil || st.CompletionTime == nil {
		return
	}
	workflowRunDuration.WithLabelValues(cur.Namespace, cur.Spec.Workflow, string(st.Phase)).
		Observe(st.CompletionTime.Sub(st.StartTime.Time).Seconds())
}
