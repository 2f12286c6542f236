package trigger

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/fluxcd/pkg/runtime/conditions"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	krtv1 "krt.dev/krt/api/v1alpha1"
	"krt.dev/krt/test/kubetest"
)

// only checks that a workflow has exactly the runs named.
func only(t *testing.T, ns, wf string, want ...string) func() (bool, string) {
	return func() (bool, string) {
		got := runsOf(t, ns, wf)
		slices.Sort(got)
		return slices.Equal(got, want), fmt.Sprintf("runs %v, want %v", got, want)
	}
}

// passOver waits until the trigger has ended a pass over a workflow that
// created a run: it names its last run when the pass ends, after every
// run the pass made.
func passOver(t *testing.T, ns, wf string) {
	t.Helper()
	eventually(t, "the trigger's pass over "+wf, func() (bool, string) {
		last := getWorkflow(t, ns, wf).Status.LastRun
		return last != "", "no last run"
	})
}

func TestPushTriggersOncePerEvent(t *testing.T) {
	ns := env.Namespace(t)
	repo := newRepo(t, ns, "web", "https://git.example/acme/web.git", nil, "")
	newWorkflow(t, ns, "promote", "web", krtv1.WorkflowSpec{On: krtv1.Triggers{
		Push: &krtv1.PushTrigger{Branches: []string{"main"}, Paths: []string{"apps/web/**"}}}})
	now := time.Now()
	// The matching push comes last: the trigger weighs a status's pushes
	// in order, in one pass, so once its run exists the others were
	// weighed, and any run of theirs would exist already.
	recordPushes(t, repo,
		push("a0a0a0a0a0", "main", now.Add(-time.Hour), "apps/web/old.go"), // before the workflow
		push("c0c0c0c0c0", "main", now, "docs/guide.md"),
		push("b0b0b0b0b0", "main", now, "README.md", "apps/web/main.go"))
	wr := waitRun(t, ns, "promote-push-b0b0b0b", krtv1.WorkflowRunning)
	if wr.Spec.Event.Push == nil || wr.Spec.Event.Push.Revision != "main@sha1:b0b0b0b0b0" || wr.Spec.Revision != "main@sha1:0000000000" {
		t.Errorf("run spec = %+v", wr.Spec)
	}
	check(t, "one run for the one matching push", only(t, ns, "promote", "promote-push-b0b0b0b"))
	eventually(t, "the workflow's status", func() (bool, string) {
		wf := getWorkflow(t, ns, "promote")
		return wf.Status.LastRun == "promote-push-b0b0b0b" && conditions.IsTrue(wf, krtv1.ConditionReady),
			fmt.Sprintf("lastRun %q conditions %+v", wf.Status.LastRun, wf.Status.Conditions)
	})

	restartManager(t)
	// A new status write wakes the workflow in the new manager too: the
	// push to main it adds, after one to another branch, gets its run,
	// and no older push gets a second.
	recordPushes(t, repo, push("d0d0d0d0d0", "dev", time.Now(), "apps/web/main.go"),
		push("e0e0e0e0e0", "main", time.Now(), "apps/web/main.go"))
	waitRun(t, ns, "promote-push-e0e0e0e", krtv1.WorkflowRunning)
	check(t, "one run per matching push after a restart",
		only(t, ns, "promote", "promote-push-b0b0b0b", "promote-push-e0e0e0e"))
}

func TestPullRequestCancelInProgress(t *testing.T) {
	ns := env.Namespace(t)
	repo := newRepo(t, ns, "web", "https://git.example/acme/web.git", &krtv1.PullRequestPolicy{Enabled: true, Provider: "generic"}, "")
	newWorkflow(t, ns, "pr-checks", "web", krtv1.WorkflowSpec{
		On: krtv1.Triggers{PullRequest: &krtv1.PullRequestTrigger{Branches: []string{"main"},
			Types: []string{"opened", "synchronize", "reopened"}}, When: "!event.pullRequest.draft"},
		Concurrency: &krtv1.Concurrency{Group: "pr-${{ event.pullRequest.number }}", CancelInProgress: true},
	})
	// The draft is recorded first: PRs are weighed in the order of
	// status, so PR 7's runs show that the draft was weighed too.
	recordPR(t, repo, krtv1.PullRequest{Number: 8, HeadSHA: "8888888aaa", Author: "alice", PushedBy: "alice", Action: "opened", Draft: true})
	recordPR(t, repo, krtv1.PullRequest{Number: 7, HeadSHA: "1111111aaa", HeadRef: "feature", Author: "alice", PushedBy: "alice", Action: "opened"})
	first := waitRun(t, ns, "pr-checks-pr7-1111111", krtv1.WorkflowRunning)
	if first.Spec.ConcurrencyGroup != "pr-7" || !first.Spec.CancelInProgress || first.Spec.RequireApproval ||
		first.Spec.Event.PullRequest.HeadSHA != "1111111aaa" {
		t.Errorf("first run spec = %+v", first.Spec)
	}

	recordPR(t, repo, krtv1.PullRequest{Number: 7, HeadSHA: "2222222bbb", HeadRef: "feature", Author: "alice", PushedBy: "alice", Action: "synchronize"})
	waitRun(t, ns, "pr-checks-pr7-2222222", krtv1.WorkflowRunning)
	first = waitRun(t, ns, first.Name, krtv1.WorkflowCancelled)
	if !first.Spec.CancelRequested {
		t.Error("the first run was cancelled without cancelRequested")
	}
	// Its history names the controller, as the API server knows it, for
	// the trigger (with the PR's sender) and for the cancel.
	want := []krtv1.AuditEntry{
		{Action: krtv1.AuditTrigger, User: kubetest.AdminUser, Detail: "pull request #7 at 1111111aaa, pushed by alice"},
		{Action: krtv1.AuditCancel, User: kubetest.AdminUser, Detail: "a newer run of concurrency group pr-7 started"},
	}
	if h := first.Status.History; len(h) != len(want) {
		t.Errorf("history %+v, want %+v", h, want)
	} else {
		for i := range want {
			if h[i].Action != want[i].Action || h[i].User != want[i].User || h[i].Detail != want[i].Detail {
				t.Errorf("history[%d] = %+v, want %+v", i, h[i], want[i])
			}
		}
	}
	check(t, "no run for the draft", only(t, ns, "pr-checks", "pr-checks-pr7-1111111", "pr-checks-pr7-2222222"))
}

func TestForkPullRequestNeedsApproval(t *testing.T) {
	ns := env.Namespace(t)
	repo := newRepo(t, ns, "web", "https://git.example/acme/web.git",
		&krtv1.PullRequestPolicy{Enabled: true, Provider: "generic", Approvers: []string{"alice"}}, "")
	newWorkflow(t, ns, "fork-checks", "web", krtv1.WorkflowSpec{On: krtv1.Triggers{PullRequest: &krtv1.PullRequestTrigger{}}})
	recordPR(t, repo, krtv1.PullRequest{Number: 3, HeadSHA: "3333333ccc", Author: "mallory", PushedBy: "mallory", Fork: true, Action: "opened"})
	wr := waitRun(t, ns, "fork-checks-pr3-3333333", krtv1.WorkflowAwaitingApproval)
	if !wr.Spec.RequireApproval {
		t.Error("a fork's run does not require approval")
	}

	approve(t, ns, "mallory", wr.Name, "3333333ccc")
	eventually(t, "the outsider's approval to be ignored", func() (bool, string) {
		wr = waitRun(t, ns, wr.Name, krtv1.WorkflowAwaitingApproval)
		return strings.Contains(wr.Status.Message, "ignored the decision of mallory"), wr.Status.Message
	})
	approve(t, ns, "alice", wr.Name, "3333333ccc")
	wr = waitRun(t, ns, wr.Name, krtv1.WorkflowRunning)
	if wr.Status.ApprovedBy != "alice" {
		t.Errorf("approvedBy = %q", wr.Status.ApprovedBy)
	}

	recordPR(t, repo, krtv1.PullRequest{Number: 3, HeadSHA: "4444444ddd", Author: "mallory", PushedBy: "mallory", Fork: true, Action: "synchronize"})
	waitRun(t, ns, "fork-checks-pr3-4444444", krtv1.WorkflowAwaitingApproval)
	consistently(t, "the new head to wait for its own approval", time.Second, func() (bool, string) {
		phase := phaseOf(t, ns, "fork-checks-pr3-4444444")
		return phase == krtv1.WorkflowAwaitingApproval, string(phase)
	})
}

func TestPullRequestsNeedPolicy(t *testing.T) {
	ns := env.Namespace(t)
	repo := newRepo(t, ns, "web", "https://git.example/acme/web.git", nil, "")
	newWorkflow(t, ns, "checks", "web", krtv1.WorkflowSpec{On: krtv1.Triggers{
		Push: &krtv1.PushTrigger{}, PullRequest: &krtv1.PullRequestTrigger{}}})
	// One status write records a PR and a push: the push's run shows that
	// the trigger read it.
	updateRepoStatus(t, repo, func(s *krtv1.WorkflowRepositoryStatus) {
		s.PullRequests = append(s.PullRequests, krtv1.PullRequest{Number: 1, HeadSHA: "1111111aaa", Base: "main",
			Author: "alice", PushedBy: "alice", Action: "opened", UpdatedAt: metav1.Now()})
		s.Pushes = append(s.Pushes, push("a1a1a1a1a1", "main", time.Now()))
	})
	waitRun(t, ns, "checks-push-a1a1a1a", krtv1.WorkflowRunning)
	passOver(t, ns, "checks")
	check(t, "no PR run without an enabled policy", only(t, ns, "checks", "checks-push-a1a1a1a"))
}

func TestWhenFiltersEvents(t *testing.T) {
	ns := env.Namespace(t)
	repo := newRepo(t, ns, "web", "https://git.example/acme/web.git", nil, "")
	newWorkflow(t, ns, "release-only", "web", krtv1.WorkflowSpec{On: krtv1.Triggers{
		Push: &krtv1.PushTrigger{}, When: "event.branch == 'release'"}})
	newWorkflow(t, ns, "broken", "web", krtv1.WorkflowSpec{On: krtv1.Triggers{
		Push: &krtv1.PushTrigger{}, When: "event.nope == 1"}})
	// The push to release comes last, so its run shows the one to main
	// was weighed.
	recordPushes(t, repo, push("e0e0e0e0e0", "main", time.Now()), push("e1e1e1e1e1", "release", time.Now()))
	waitRun(t, ns, "release-only-push-e1e1e1e", krtv1.WorkflowRunning)
	eventually(t, "broken's Ready to say why", func() (bool, string) {
		wf := getWorkflow(t, ns, "broken")
		return conditions.IsFalse(wf, krtv1.ConditionReady) && conditions.GetReason(wf, krtv1.ConditionReady) == ReasonWhenFailed,
			fmt.Sprintf("%+v", wf.Status.Conditions)
	})
	check(t, "no run when on.when is false", only(t, ns, "release-only", "release-only-push-e1e1e1e"))
	if !conditions.IsTrue(getWorkflow(t, ns, "release-only"), krtv1.ConditionReady) {
		t.Error("a false on.when is not a problem")
	}
	if got := runsOf(t, ns, "broken"); len(got) != 0 {
		t.Errorf("an on.when that fails started %v", got)
	}
}

func TestScheduleRuns(t *testing.T) {
	// The trigger's clock runs two minutes ahead, so a tick has passed
	// since the workflow was created.
	clockOffset.Store(int64(2 * time.Minute))
	defer clockOffset.Store(0)
	ns := env.Namespace(t)
	newWorkflow(t, ns, "tick", "", krtv1.WorkflowSpec{On: krtv1.Triggers{Schedule: []krtv1.ScheduleTrigger{{Cron: "* * * * *"}}}})
	var name string
	eventually(t, "a scheduled run", func() (bool, string) {
		got := runsOf(t, ns, "tick")
		if len(got) > 0 {
			name = got[0]
		}
		return len(got) == 1 && strings.HasPrefix(name, "tick-cron-"), fmt.Sprint(got)
	})
	wr := waitRun(t, ns, name, krtv1.WorkflowRunning)
	if ev := wr.Spec.Event; ev.Type != krtv1.EventSchedule || ev.Schedule == nil || ev.Schedule.Cron != "* * * * *" {
		t.Errorf("event = %+v", ev)
	}
}

func TestConcurrencyGroupQueues(t *testing.T) {
	ns := env.Namespace(t)
	repo := newRepo(t, ns, "web", "https://git.example/acme/web.git", nil, "")
	newWorkflow(t, ns, "deploy", "web", krtv1.WorkflowSpec{On: krtv1.Triggers{Push: &krtv1.PushTrigger{}},
		Concurrency: &krtv1.Concurrency{Group: "deploy-${{ event.branch }}"}})
	recordPushes(t, repo, push("e1e1e1e1e1", "main", time.Now()))
	first := waitRun(t, ns, "deploy-push-e1e1e1e", krtv1.WorkflowRunning)
	recordPushes(t, repo, push("f2f2f2f2f2", "main", time.Now()))
	second := waitRun(t, ns, "deploy-push-f2f2f2f", krtv1.WorkflowPending)
	if want := "waiting for deploy-push-e1e1e1e in concurrency group deploy-main"; second.Status.Message != want {
		t.Errorf("message = %q, want %q", second.Status.Message, want)
	}
	consistently(t, "the second to wait", time.Second, func() (bool, string) {
		phase := phaseOf(t, ns, second.Name)
		return phase == krtv1.WorkflowPending, string(phase)
	})
	finishStep(t, ns, first.Name, "a", krtv1.RunSucceeded)
	waitRun(t, ns, first.Name, krtv1.WorkflowSucceeded)
	waitRun(t, ns, second.Name, krtv1.WorkflowRunning)
}
