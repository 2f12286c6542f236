package security

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	krtv1 "krt.dev/krt/api/v1alpha1"
)

// A deploy Runtime allows only its repository's push workflows. A
// pull-request Run aimed at it (as a PR's workflow would name it), and a
// Run no workflow started, end NotAdmitted without ever running: the step
// that would prove it ran leaves no file. A push Run runs.
func TestRuntimeAllowedWorkflowsRefusePullRequests(t *testing.T) {
	ns := env.Namespace(t)
	startRuntime(t, ns, "deploy", 1, func(rt *krtv1.Runtime) {
		rt.Spec.AllowedWorkflows = []krtv1.WorkflowSelector{{Repository: "web", Events: []string{krtv1.EventPush}}}
	})
	proof := t.TempDir()
	script := `touch "` + proof + `/$RUN_NAME"`
	labels := func(event, repo string) map[string]string {
		return map[string]string{krtv1.LabelEvent: event, krtv1.LabelRepository: repo}
	}
	for _, tc := range []struct {
		name   string
		labels map[string]string
		admit  bool
		says   string
	}{
		{name: "pull-request", labels: labels(krtv1.EventPullRequest, "web"), says: `event "pullRequest" of repository "web"`},
		{name: "other-repo-push", labels: labels(krtv1.EventPush, "tools"), says: `event "push" of repository "tools"`},
		{name: "no-workflow", says: "no workflow event"},
		{name: "push", labels: labels(krtv1.EventPush, "web"), admit: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			createRun(t, ns, tc.name, "deploy", script, map[string]string{"RUN_NAME": tc.name}, tc.labels)
			run := waitEnded(t, ns, tc.name)
			_, statErr := os.Stat(filepath.Join(proof, tc.name))
			ran := statErr == nil
			if tc.admit {
				if run.Status.Phase != krtv1.RunSucceeded || !ran {
					t.Fatalf("an allowed Run: %s (%s), ran = %v", run.Status.Phase, run.Status.Message, ran)
				}
				return
			}
			if run.Status.Phase != krtv1.RunFailed || run.Status.Reason != krtv1.ReasonNotAdmitted ||
				!strings.Contains(run.Status.Message, "allowedWorkflows") || !strings.Contains(run.Status.Message, tc.says) {
				t.Errorf("want Failed, NotAdmitted, naming allowedWorkflows and %q; got %s %s: %s", tc.says, run.Status.Phase, run.Status.Reason, run.Status.Message)
			}
			if ran || run.Status.AssignedPod != "" || run.Status.StartTime != nil {
				t.Errorf("a refused Run executed: ran = %v, pod %q, started %v", ran, run.Status.AssignedPod, run.Status.StartTime)
			}
		})
	}
}
