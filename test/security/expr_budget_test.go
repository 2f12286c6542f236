package security

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"sigs.k8s.io/controller-runtime/pkg/client"

	krtv1 "krt.dev/krt/api/v1alpha1"
	"krt.dev/krt/sources/gitserver/gittest"
)

// forkWhens is how many workflows the fork's head defines, each with an
// on.when that stays under its own cost limit and deadline: about 120,000
// cost units (400 searches of a 3,000-byte string), a few milliseconds.
// Together they spend 2.9 million, over the 2 million one event may.
const forkWhens = 24

// forkWhen is false, after all its work: nothing runs unless the budget
// stops it, so a run of a workflow is the budget's doing.
func forkWhen() string {
	ones := "[" + strings.TrimSuffix(strings.Repeat("1,", 20), ",") + "]"
	return fmt.Sprintf("%s.exists(i, %s.exists(j, '%s'.contains('ab')))", ones, ones, strings.Repeat("a", 3000))
}

// TestForkWhenSpendsTheEventBudget is a pull request from a repository's
// refs/pull/1/head (never trusted: the generic provider knows no author)
// on a repository whose definitions come from the head. Before anyone
// approves it, krt evaluates each head workflow's on.when. Each stays
// under its own limit; together they pass the event's budget, and the
// workflows past it get a Failed run that says so, before any Run exists.
func TestForkWhenSpendsTheEventBudget(t *testing.T) {
	ns := env.Namespace(t)
	head := map[string]string{}
	for i := range forkWhens {
		name := fmt.Sprintf("burn-%02d", i)
		head["workflows/"+name+".yaml"] = fmt.Sprintf(`apiVersion: krt.dev/v1alpha1
kind: Workflow
metadata:
  name: %s
spec:
  on:
    pullRequest: {}
    when: "%s"
  steps:
    - {name: a, runtime: bash, run: "true"}
`, name, forkWhen())
	}
	base := map[string]string{"workflows/base.yaml": "apiVersion: krt.dev/v1alpha1\nkind: Workflow\nmetadata: {name: base}\nspec:\n  on: {manual: {}}\n  steps:\n    - {name: a, runtime: bash, run: \"true\"}\n"}
	repo, _ := exprRepo(t, ns, base, func(r *krtv1.WorkflowRepository) {
		r.Spec.PullRequests = &krtv1.PullRequestPolicy{Enabled: true, Provider: "generic", DefinitionsFrom: "head"}
	}, func(c *gittest.Clone) {
		c.Write(head)
		c.Commit("burn the trigger's CPU before approval")
		c.Push("HEAD:refs/pull/1/head")
	})

	budget := "on.when: the expressions evaluated for this event exceeded their combined"
	// The head's workflows are evaluated in file order, so once the last
	// one has a run, every one has been decided.
	last := fmt.Sprintf("burn-%02d", forkWhens-1)
	eventually(t, 2*time.Minute, "workflow "+last+" to have a run", func() bool {
		for _, wr := range forkRuns(t, ns) {
			if wr.Spec.Workflow == last {
				return true
			}
		}
		return false
	})
	// A workflow whose on.when was false within the budget has no run;
	// every run there is was stopped, and ends Failed, saying why.
	stopped := 0
	for _, wr := range forkRuns(t, ns) {
		got := exprWaitRun(t, ns, wr.Name, time.Minute)
		// On a machine slow enough, one on.when may meet its own deadline
		// first: that bound stops it as well.
		ownDeadline := strings.Contains(got.Status.Message, "on.when: expression exceeded its deadline")
		switch {
		case got.Status.Phase == krtv1.WorkflowFailed && strings.Contains(got.Status.Message, budget):
			if stopped++; stopped == 1 {
				t.Logf("run %s: %s", got.Name, got.Status.Message)
			}
		case got.Status.Phase == krtv1.WorkflowFailed && ownDeadline:
			t.Logf("run %s: %s", got.Name, got.Status.Message)
		default:
			t.Errorf("run %s of %s: %s %q; want Failed by the event's budget", got.Name, got.Spec.Workflow, got.Status.Phase, got.Status.Message)
		}
	}
	t.Logf("%d of %d workflows were stopped by the event's budget", stopped, forkWhens)
	if stopped == 0 {
		t.Errorf("no run was stopped by the event's budget")
	}
	if runs := exprRuns(t, ns); len(runs) > 0 {
		t.Errorf("%d Runs exist; no step of an unapproved head may start", len(runs))
	}
	eventually(t, 30*time.Second, "the repository's events to name the budget", func() bool {
		return strings.Contains(exprEvents(t, ns, repo.Name), "exceeded their combined")
	})
}

// forkRuns lists the namespace's WorkflowRuns.
func forkRuns(t *testing.T, ns string) []krtv1.WorkflowRun {
	t.Helper()
	list := &krtv1.WorkflowRunList{}
	if err := env.Client.List(context.Background(), list, client.InNamespace(ns)); err != nil {
		t.Fatal(err)
	}
	return list.Items
}
