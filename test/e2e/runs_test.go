package e2e

import (
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	krtv1 "krt.dev/krt/api/v1alpha1"
)

func TestRunsSucceedWithOutputs(t *testing.T) {
	ns := setupRuntime(t, "exec", 1, 4)
	cases := []struct {
		name string
		spec krtv1.RunSpec
		want map[string]string
	}{
		{
			name: "bash",
			spec: krtv1.RunSpec{Script: "echo building\necho \"image=web:${TAG}\" >> \"$KRT_OUTPUTS\"\nprintf 'notes<<EOF\\nline 1\\nline 2\\nEOF\\n' >> \"$KRT_OUTPUTS\"",
				Env: []krtv1.EnvVar{{Name: "TAG", Value: "1.2.3"}}},
			want: map[string]string{"image": "web:1.2.3", "notes": "line 1\nline 2"},
		},
		{
			name: "python",
			spec: krtv1.RunSpec{Language: krtv1.LanguagePython, Script: "import os\nwith open(os.environ['KRT_OUTPUTS'], 'a') as f:\n    f.write('sum=%d\\n' % (40 + 2))\n"},
			want: map[string]string{"sum": "42"},
		},
		{
			name: "command",
			spec: krtv1.RunSpec{Command: []string{"sh", "-c", `echo "who=$0" >> "$KRT_OUTPUTS"`}, Args: []string{"krt"}},
			want: map[string]string{"who": "krt"},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tc.spec.Runtime = "exec"
			run := waitDone(t, newRun(t, ns, tc.spec))
			if run.Status.Phase != krtv1.RunSucceeded {
				t.Fatalf("phase = %s (%s), want Succeeded", run.Status.Phase, run.Status.Message)
			}
			if run.Status.ExitCode == nil || *run.Status.ExitCode != 0 {
				t.Errorf("exitCode = %v, want 0", run.Status.ExitCode)
			}
			for k, v := range tc.want {
				if run.Status.Outputs[k] != v {
					t.Errorf("outputs[%s] = %q, want %q", k, run.Status.Outputs[k], v)
				}
			}
			if run.Status.StartTime == nil || run.Status.CompletionTime == nil || run.Status.Attempt != 1 {
				t.Errorf("status lacks times or attempt: %+v", run.Status)
			}
		})
	}
}

func TestFailingScriptReportsExitCodeAndStderrTail(t *testing.T) {
	ns := setupRuntime(t, "fail", 1, 2)
	run := waitDone(t, newRun(t, ns, krtv1.RunSpec{Runtime: "fail",
		Script: "echo to stdout\necho 'deploy failed: quota exceeded' >&2\nexit 3"}))
	if run.Status.Phase != krtv1.RunFailed || run.Status.Reason != krtv1.ReasonExitCode {
		t.Fatalf("phase/reason = %s/%s, want Failed/%s", run.Status.Phase, run.Status.Reason, krtv1.ReasonExitCode)
	}
	if run.Status.ExitCode == nil || *run.Status.ExitCode != 3 {
		t.Errorf("exitCode = %v, want 3", run.Status.ExitCode)
	}
	if !strings.Contains(run.Status.Message, "deploy failed: quota exceeded") || strings.Contains(run.Status.Message, "to stdout") {
		t.Errorf("message = %q, want the stderr tail only", run.Status.Message)
	}
	ready := findCondition(run, krtv1.ConditionReady)
	if ready == nil || ready.Status != metav1.ConditionFalse {
		t.Errorf("Ready condition = %+v, want False", ready)
	}
}

func TestUnknownRuntimeStaysPendingWithCondition(t *testing.T) {
	ns := env.Namespace(t)
	run := newRun(t, ns, krtv1.RunSpec{Runtime: "no-such-runtime", Script: "true"})
	run = waitRun(t, run, time.Minute, "explain why it waits", func(r *krtv1.Run) bool {
		return findCondition(r, krtv1.ConditionScheduled) != nil
	})
	c := findCondition(run, krtv1.ConditionScheduled)
	if c.Status != metav1.ConditionFalse || c.Reason != krtv1.ReasonRuntimeNotFound || !strings.Contains(c.Message, "no-such-runtime") {
		t.Errorf("Scheduled condition = %+v, want False/RuntimeNotFound naming the runtime", c)
	}
	if !run.Pending() {
		t.Errorf("phase = %s, want Pending", run.Status.Phase)
	}
	// Once the runtime exists, the waiting Run runs.
	createRuntime(t, ns, "no-such-runtime", 1, 1)
	if done := waitDone(t, run); done.Status.Phase != krtv1.RunSucceeded {
		t.Fatalf("after the runtime appeared: %s (%s)", done.Status.Phase, done.Status.Message)
	}
}

func TestOversizedOutputsFail(t *testing.T) {
	ns := setupRuntime(t, "big", 1, 2)
	run := waitDone(t, newRun(t, ns, krtv1.RunSpec{Runtime: "big",
		Script: `head -c 70000 /dev/zero | tr '\0' x | sed 's/^/blob=/' >> "$KRT_OUTPUTS"; echo >> "$KRT_OUTPUTS"`}))
	if run.Status.Phase != krtv1.RunFailed || run.Status.Reason != krtv1.ReasonOutputsTooLarge {
		t.Fatalf("phase/reason = %s/%s (%s), want Failed/OutputsTooLarge", run.Status.Phase, run.Status.Reason, run.Status.Message)
	}
	if len(run.Status.Outputs) != 0 {
		t.Errorf("outputs were kept: %d keys", len(run.Status.Outputs))
	}
}

func findCondition(run *krtv1.Run, t string) *metav1.Condition {
	for i := range run.Status.Conditions {
		if run.Status.Conditions[i].Type == t {
			return &run.Status.Conditions[i]
		}
	}
	return nil
}
