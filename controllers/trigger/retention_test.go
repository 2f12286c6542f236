package trigger

import (
	"slices"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	k8stypes "k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"

	krtv1 "krt.dev/krt/api/v1alpha1"
)

// A workflow keeping one successful and one failed run: as its push runs
// finish, the older successful one is deleted, the failed one and the
// running one stay, and the deleted run's push, still recorded on the
// repository, does not run again in the passes after.
func TestRetentionPrunesOldestFinishedRuns(t *testing.T) {
	ns := env.Namespace(t)
	repo := newRepo(t, ns, "web", "https://git.example/acme/web.git", nil, "")
	newWorkflow(t, ns, "deploy", "web", krtv1.WorkflowSpec{
		On:           krtv1.Triggers{Push: &krtv1.PushTrigger{Branches: []string{"main"}}},
		RunRetention: &krtv1.RunRetention{SuccessfulHistoryLimit: ptr.To[int32](1), FailedHistoryLimit: ptr.To[int32](1)},
	})
	now := time.Now()
	recordPushes(t, repo, push("a1a1a1a1a1", "main", now), push("b2b2b2b2b2", "main", now),
		push("c3c3c3c3c3", "main", now), push("d4d4d4d4d4", "main", now))
	first, second, failed, running := "deploy-push-a1a1a1a", "deploy-push-b2b2b2b", "deploy-push-c3c3c3c", "deploy-push-d4d4d4d"
	for _, name := range []string{first, second, failed, running} {
		waitRun(t, ns, name, krtv1.WorkflowRunning)
	}
	finishStep(t, ns, first, "a", krtv1.RunSucceeded)
	waitRun(t, ns, first, krtv1.WorkflowSucceeded)
	finishStep(t, ns, failed, "a", krtv1.RunFailed)
	waitRun(t, ns, failed, krtv1.WorkflowFailed)
	finishStep(t, ns, second, "a", krtv1.RunSucceeded)
	eventually(t, "the oldest successful run to be deleted", only(t, ns, "deploy", second, failed, running))
	wf := getWorkflow(t, ns, "deploy")
	if !slices.Contains(wf.Status.HandledRuns, first) {
		t.Errorf("the deleted run %s is not in the record %v", first, wf.Status.HandledRuns)
	}

	// A later push's run shows a pass that weighed the first push again.
	recordPushes(t, repo, push("e5e5e5e5e5", "main", time.Now()))
	waitRun(t, ns, "deploy-push-e5e5e5e", krtv1.WorkflowRunning)
	check(t, "the pruned run is not made again", only(t, ns, "deploy", second, failed, running, "deploy-push-e5e5e5e"))
}

func TestExpired(t *testing.T) {
	now := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	run := func(name string, phase krtv1.WorkflowRunPhase, endedAgo time.Duration) krtv1.WorkflowRun {
		end := metav1.NewTime(now.Add(-endedAgo))
		return krtv1.WorkflowRun{ObjectMeta: metav1.ObjectMeta{Name: name, UID: k8stypes.UID("uid-" + name)},
			Spec:   krtv1.WorkflowRunSpec{Workflow: "wf"},
			Status: krtv1.WorkflowRunStatus{Phase: phase, CompletionTime: &end}}
	}
	list := []krtv1.WorkflowRun{
		run("ok-old", krtv1.WorkflowSucceeded, 3*time.Hour),
		run("ok-new", krtv1.WorkflowSucceeded, time.Hour),
		run("failed", krtv1.WorkflowFailed, 2*time.Hour),
		run("cancelled", krtv1.WorkflowCancelled, 30*time.Minute),
		{ObjectMeta: metav1.ObjectMeta{Name: "running"}, Spec: krtv1.WorkflowRunSpec{Workflow: "wf"},
			Status: krtv1.WorkflowRunStatus{Phase: krtv1.WorkflowRunning}},
		run("other-workflow", krtv1.WorkflowSucceeded, 5*time.Hour),
	}
	list[5].Spec.Workflow = "other"
	for _, tc := range []struct {
		name     string
		ret      *krtv1.RunRetention
		want     []string
		wantNext time.Duration // from now; 0 for none
	}{
		{"defaults keep ten of each", nil, nil, 0},
		{"one of each", &krtv1.RunRetention{SuccessfulHistoryLimit: ptr.To[int32](1), FailedHistoryLimit: ptr.To[int32](1)},
			[]string{"ok-old", "failed"}, 0},
		{"none", &krtv1.RunRetention{SuccessfulHistoryLimit: ptr.To[int32](0), FailedHistoryLimit: ptr.To[int32](0)},
			[]string{"ok-new", "ok-old", "cancelled", "failed"}, 0},
		{"a TTL of 90 minutes", &krtv1.RunRetention{TTLSecondsAfterFinished: ptr.To[int32](90 * 60)},
			[]string{"ok-old", "failed"}, 30 * time.Minute},
	} {
		t.Run(tc.name, func(t *testing.T) {
			wf := &krtv1.Workflow{ObjectMeta: metav1.ObjectMeta{Name: "wf"}, Spec: krtv1.WorkflowSpec{RunRetention: tc.ret}}
			doomed, next := expired(wf, list, now)
			var got []string
			for _, d := range doomed {
				got = append(got, d.Name)
			}
			slices.Sort(got)
			want := slices.Sorted(slices.Values(tc.want))
			if !slices.Equal(got, want) {
				t.Errorf("deleted %v, want %v", got, want)
			}
			var wantNext time.Time
			if tc.wantNext > 0 {
				wantNext = now.Add(tc.wantNext)
			}
			if !next.Equal(wantNext) {
				t.Errorf("next expiry %v, want %v", next, wantNext)
			}
		})
	}
}
