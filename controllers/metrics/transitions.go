package metrics

import (
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

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

// observeRun observes each transition a Run passed between two versions.
// One update may skip a phase the cache never saw, so a transition ends at
// the status time of the phase it enters; the last one ends now, when the
// cache sees it, since startTime and completionTime are only to the second.
func observeRun(old, cur *krtv1.Run, now time.Time) {
	from, to := stageOf(old.Status.Phase), stageOf(cur.Status.Phase)
	for s := from + 1; s <= to; s++ {
		start, end := stageStart(cur, s-1), stageStart(cur, s)
		if s == to {
			end = now
		}
		if start.IsZero() || end.IsZero() {
			continue
		}
		runTransition.WithLabelValues(cur.Namespace, cur.Spec.Runtime, transitionNames[s]).Observe(max(0, end.Sub(start).Seconds()))
	}
}

// stageStart is when the Run's current attempt entered stage s; zero when
// its status does not say.
func stageStart(r *krtv1.Run, s int) time.Time {
	st := r.Status
	var t *metav1.Time
	switch s {
	case stagePending:
		start := r.CreationTimestamp.Time
		if st.NotBefore != nil && st.NotBefore.After(start) {
			start = st.NotBefore.Time
		}
		return start
	case stageScheduled:
		if st.ScheduledTime != nil {
			return st.ScheduledTime.Time
		}
		return time.Time{}
	case stageRunning:
		t = st.StartTime
	case stageFinished:
		t = st.CompletionTime
	}
	if t == nil {
		return time.Time{}
	}
	return t.Time
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
