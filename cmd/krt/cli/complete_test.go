package cli

import (
	"slices"
	"strings"
	"testing"

	"sigs.k8s.io/controller-runtime/pkg/client"

	krtv1 "krt.dev/krt/api/v1alpha1"
)

// completions runs the shell's hidden __complete and returns what it
// offers, without the directive line.
func completions(t *testing.T, objs []client.Object, args ...string) []string {
	t.Helper()
	out, stderr, code := runWith(t, objs, append([]string{"__complete"}, args...)...)
	if code != 0 {
		t.Fatalf("__complete %v: exit %d: %s", args, code, stderr)
	}
	var got []string
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		if line != "" && !strings.HasPrefix(line, ":") {
			name, _, _ := strings.Cut(line, "\t")
			got = append(got, name)
		}
	}
	return got
}

func TestCompleteNames(t *testing.T) {
	run := func(name string, phase krtv1.RunPhase) client.Object {
		r := testRun("ns1", name, phase, nil)
		r.ResourceVersion = ""
		return &r
	}
	gated := promoteRun(krtv1.WorkflowRunning, krtv1.NodeStatus{Name: "approve-prod", Phase: krtv1.NodeWaiting})
	gated.Namespace, gated.Name = "ns1", "wr-gated"
	done := promoteRun(krtv1.WorkflowSucceeded)
	done.Namespace, done.Name = "ns1", "wr-done"
	manual := &krtv1.Workflow{Spec: krtv1.WorkflowSpec{On: krtv1.Triggers{Manual: &krtv1.ManualTrigger{}}}}
	manual.Namespace, manual.Name = "ns1", "deploy"
	pushed := &krtv1.Workflow{Spec: krtv1.WorkflowSpec{On: krtv1.Triggers{Push: &krtv1.PushTrigger{}}}}
	pushed.Namespace, pushed.Name = "ns1", "ci"
	other := run("elsewhere", krtv1.RunPending)
	other.SetNamespace("ns2")
	objs := []client.Object{run("run-a", krtv1.RunSucceeded), run("run-b", krtv1.RunRunning), run("job-c", krtv1.RunPending),
		other, gated, done, manual, pushed}
	cases := []struct {
		args []string
		want []string
	}{
		{[]string{"get", "-n", "ns1", ""}, []string{"job-c", "run-a", "run-b"}},
		{[]string{"get", "-n", "ns1", "run-"}, []string{"run-a", "run-b"}},
		{[]string{"get", "-n", "ns1", "run-a", ""}, []string{"job-c", "run-b"}},
		{[]string{"get", "-n", "ns2", ""}, []string{"elsewhere"}},
		{[]string{"logs", "-n", "ns1", "run-a", ""}, nil},
		{[]string{"cancel", "-n", "ns1", ""}, []string{"job-c", "run-b"}},
		{[]string{"wf", "graph", "-n", "ns1", ""}, []string{"wr-done", "wr-gated"}},
		{[]string{"wf", "approve", "-n", "ns1", ""}, []string{"wr-gated"}},
		{[]string{"wf", "approve", "-n", "ns1", "wr-gated", ""}, []string{"approve-prod"}},
		{[]string{"wf", "reject", "-n", "ns1", "wr-done", ""}, []string{"approve-prod"}},
		{[]string{"wf", "cancel", "-n", "ns1", ""}, []string{"wr-gated"}},
		{[]string{"wf", "history", "-n", "ns1", ""}, []string{"wr-done", "wr-gated"}},
		{[]string{"wf", "rerun", "-n", "ns1", ""}, []string{"wr-done", "wr-gated"}},
		{[]string{"wf", "trigger", "-n", "ns1", ""}, []string{"deploy"}},
		{[]string{"wf", "runs", "-n", "ns1", ""}, []string{"ci", "deploy"}},
		{[]string{"wf", "approve", "-n", "ns1", "wr-missing", ""}, nil},
		{[]string{"get", "-o", ""}, []string{"json", "wide", "yaml"}},
	}
	for _, tc := range cases {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			got := completions(t, objs, tc.args...)
			slices.Sort(got)
			if !slices.Equal(got, tc.want) && !(len(got) == 0 && len(tc.want) == 0) {
				t.Errorf("completions = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestCompletionScripts(t *testing.T) {
	for _, shell := range []string{"bash", "zsh", "fish", "powershell"} {
		t.Run(shell, func(t *testing.T) {
			out, stderr, code := runMain(t, "completion", shell)
			if code != 0 || !strings.Contains(out, "krt") || !strings.Contains(out, "__complete") {
				t.Errorf("exit %d, %d bytes, stderr %q: not a completion script for krt", code, len(out), stderr)
			}
		})
	}
	got := completions(t, nil, "")
	for _, want := range []string{"run", "get", "list", "logs", "cancel", "wf", "version", "completion"} {
		if !slices.Contains(got, want) {
			t.Errorf("krt <TAB> offers %q, lacks %q", got, want)
		}
	}
	got = completions(t, nil, "wf", "")
	for _, want := range []string{"list", "runs", "trigger", "approve", "reject", "cancel", "rerun", "history", "graph"} {
		if !slices.Contains(got, want) {
			t.Errorf("krt wf <TAB> offers %q, lacks %q", got, want)
		}
	}
}
