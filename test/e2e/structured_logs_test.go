package e2e

import (
	"bufio"
	"encoding/json"
	"os"
	"strings"
	"testing"
	"time"

	krtv1 "krt.dev/krt/api/v1alpha1"
)

// TestControllerLogLinesNameTheRun reads krt-controller's own log while a
// workflow runs: the engine's lines about the run carry workflow and
// workflowRun, and lines about a step also step, attempt and run; the
// scheduler's line about one of its Runs carries all five.
func TestControllerLogLinesNameTheRun(t *testing.T) {
	ns := setupRuntime(t, "bash", 1, 2)
	createWorkflow(t, ns, "logged", krtv1.WorkflowSpec{
		On: krtv1.Triggers{Manual: &krtv1.ManualTrigger{}},
		Steps: []krtv1.Step{
			{Name: "first", Runtime: "bash", Run: "echo first"},
			// No such Runtime: the scheduler says why it cannot place it.
			{Name: "second", Needs: []string{"first"}, Runtime: "absent", Run: "echo second"},
		},
	})
	wr := strings.TrimSpace(mustKrt(t, "wf", "trigger", "-n", ns, "logged"))

	var lines []map[string]any
	has := func(msg, step string) bool {
		for _, l := range lines {
			if l["msg"] == msg && (step == "" || l["step"] == step) {
				return true
			}
		}
		return false
	}
	eventually(t, time.Minute, "the controller to log the step the scheduler cannot place", func() bool {
		lines = runLines(t, wr)
		// The scheduler may see the Run before the engine logs its start.
		return has("step ended", "first") && has("run cannot be scheduled", "second") &&
			has("step started", "first") && has("step started", "second")
	})
	for _, l := range lines {
		want := []string{"workflow", "workflowRun"}
		if _, ok := l["step"]; ok {
			want = append(want, "attempt", "run")
		}
		for _, k := range want {
			if _, ok := l[k]; !ok {
				t.Errorf("a line about run %s lacks %q: %v", wr, k, l)
			}
		}
		if a, ok := l["attempt"].(float64); ok && a < 1 {
			t.Errorf("line %v: attempts count from 1", l)
		}
		if l["workflow"] != "logged" {
			t.Errorf("line %v: workflow = %v, want logged", l, l["workflow"])
		}
	}
}

// runLines are the controller's JSON log lines that mention workflow run
// wr anywhere, whether or not they carry its keys.
func runLines(t *testing.T, wr string) []map[string]any {
	t.Helper()
	f, err := os.Open(stack.Controller.Log)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []map[string]any
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		if !strings.Contains(sc.Text(), wr) {
			continue
		}
		l := map[string]any{}
		if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
			t.Fatalf("a log line is not JSON: %v\n%s", err, sc.Text())
		}
		out = append(out, l)
	}
	return out
}
