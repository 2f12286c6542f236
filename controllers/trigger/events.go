package trigger

import (
	"fmt"
	"time"

	"github.com/robfig/cron/v3"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	krtv1 "krt.dev/krt/api/v1alpha1"
	"krt.dev/krt/workflows/prtrust"
	"krt.dev/krt/workflows/runs"
	"krt.dev/krt/workflows/validate"
)

// candidate is an event that may start a run, under the run's name. The
// name is a function of the event alone, so creating it twice fails with
// AlreadyExists: that is what makes one event one run, across restarts.
type candidate struct {
	name            string
	event           krtv1.WorkflowEvent
	requireApproval bool
	what            string // the event, for messages
}

// pushCandidates are the repository's recorded pushes that on.push
// matches. A push from before the workflow existed is not replayed.
func pushCandidates(wf *krtv1.Workflow, repo *krtv1.WorkflowRepository) []candidate {
	t := wf.Spec.On.Push
	if t == nil || repo == nil {
		return nil
	}
	var out []candidate
	for i := range repo.Status.Pushes {
		p := &repo.Status.Pushes[i]
		if p.Time.Before(&wf.CreationTimestamp) || !pushMatches(t, p) {
			continue
		}
		out = append(out, candidate{
			name:  runs.Name(wf.Name, "push-"+shortSHA(runs.CommitOf(p.Revision))),
			event: krtv1.WorkflowEvent{Type: krtv1.EventPush, Push: p.DeepCopy()},
			what:  "push " + p.Revision,
		})
	}
	return out
}

// prCandidates are the repository's open PRs whose last action
// on.pullRequest matches, one per head. Only a repository whose policy
// enables PRs runs them at all; an untrusted PR's run waits for approval.
// The workflow as applied (from the followed branch) is the definition:
// the PR head is an input, never the code of the workflow. A repository
// whose definitions come from the head has its PR runs made from the
// head instead (heads.go), so none of its Workflows makes any here.
func prCandidates(wf *krtv1.Workflow, repo *krtv1.WorkflowRepository) []candidate {
	t := wf.Spec.On.PullRequest
	if t == nil || repo == nil || repo.Spec.PullRequests == nil || !repo.Spec.PullRequests.Enabled ||
		headDefinitions(repo.Spec.PullRequests) {
		return nil
	}
	pol := repo.Spec.PullRequests
	var out []candidate
	for i := range repo.Status.PullRequests {
		pr := &repo.Status.PullRequests[i]
		if !prMatches(t, pol, pr) {
			continue
		}
		if !pr.UpdatedAt.IsZero() && pr.UpdatedAt.Before(&wf.CreationTimestamp) {
			continue // as with pushes, adding a workflow replays nothing
		}
		out = append(out, prCandidate(wf.Name, pol, pr))
	}
	return out
}

// prCandidate is a PR's run of a workflow, whichever branch defines it:
// the name is the same, so one event is one run either way.
func prCandidate(workflow string, pol *krtv1.PullRequestPolicy, pr *krtv1.PullRequest) candidate {
	return candidate{
		name:            runs.Name(workflow, prSuffix(pr)),
		event:           krtv1.WorkflowEvent{Type: krtv1.EventPullRequest, PullRequest: pr.DeepCopy()},
		requireApproval: !trusted(pol, pr),
		what:            fmt.Sprintf("pull request #%d at %s", pr.Number, pr.HeadSHA),
	}
}

// prSuffix ends the name of every run of a PR event, whatever workflow.
func prSuffix(pr *krtv1.PullRequest) string {
	return fmt.Sprintf("pr%d-%s", pr.Number, shortSHA(pr.HeadSHA))
}

// headDefinitions reports whether a repository's PR runs take their
// definitions from the PR head rather than from the followed branch.
func headDefinitions(pol *krtv1.PullRequestPolicy) bool {
	return prtrust.HeadDefinitions(pol)
}

// scheduleCandidates are the latest tick of each cron since the workflow
// was created; older missed ticks are not run. It also returns when the
// next tick is due, zero when none is.
func scheduleCandidates(wf *krtv1.Workflow, now time.Time) ([]candidate, time.Time, error) {
	var out []candidate
	var next time.Time
	since := wf.CreationTimestamp.UTC()
	now = now.UTC() // cron fields read in UTC, whatever the host's zone
	for _, s := range wf.Spec.On.Schedule {
		sched, err := validate.ParseCron(s.Cron)
		if err != nil {
			return nil, time.Time{}, err
		}
		if n := sched.Next(now); !n.IsZero() && (next.IsZero() || n.Before(next)) {
			next = n
		}
		tick, ok := lastTick(sched, since, now)
		if !ok {
			continue
		}
		// Two crons firing in one minute make one run.
		name := runs.Name(wf.Name, fmt.Sprintf("cron-%d", tick.Unix()/60))
		if containsName(out, name) {
			continue
		}
		out = append(out, candidate{
			name:  name,
			event: krtv1.WorkflowEvent{Type: krtv1.EventSchedule, Schedule: &krtv1.ScheduleEvent{Cron: s.Cron, Time: metav1.NewTime(tick)}},
			what:  fmt.Sprintf("schedule %q at %s", s.Cron, tick.Format(time.RFC3339)),
		})
	}
	return out, next, nil
}

func containsName(list []candidate, name string) bool {
	for _, c := range list {
		if c.name == name {
			return true
		}
	}
	return false
}

// lookbacks are the spans searched, shortest first, for a schedule's
// latest tick. A frequent schedule is found in the first at a walk of at
// most an hour's ticks; a rare one in a longer span with few ticks.
var lookbacks = []time.Duration{time.Hour, 24 * time.Hour, 32 * 24 * time.Hour, 367 * 24 * time.Hour, 5 * 366 * 24 * time.Hour}

// maxWalk bounds the ticks walked in one span, against a pathological
// schedule that is dense in a short window and absent elsewhere.
const maxWalk = 100_000

// lastTick finds the schedule's latest tick in [since, now].
func lastTick(s cron.Schedule, since, now time.Time) (time.Time, bool) {
	for _, back := range lookbacks {
		from, clamped := now.Add(-back), false
		if !from.After(since) {
			// Next is strictly after its argument; since may be a tick.
			from, clamped = since.Add(-time.Second), true
		}
		var last time.Time
		for t, n := s.Next(from), 0; !t.IsZero() && !t.After(now) && n < maxWalk; t, n = s.Next(t), n+1 {
			last = t
		}
		if !last.IsZero() {
			return last, true
		}
		if clamped {
			break
		}
	}
	return time.Time{}, false
}
