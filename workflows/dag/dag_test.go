package dag

import (
	"strings"
	"testing"

	krtv1 "krt.dev/krt/api/v1alpha1"
)

func TestMatrixIsEveryCombinationInAStableOrder(t *testing.T) {
	items := Matrix(map[string][]string{"os": {"linux", "mac"}, "arch": {"amd64", "arm64"}})
	var keys []string
	for _, it := range items {
		keys = append(keys, it.Key)
	}
	want := "arch=amd64,os=linux arch=amd64,os=mac arch=arm64,os=linux arch=arm64,os=mac"
	if strings.Join(keys, " ") != want {
		t.Fatalf("keys = %v", keys)
	}
	if items[0].Value.(map[string]any)["os"] != "linux" {
		t.Fatalf("item value = %v", items[0].Value)
	}
}

func TestSummarize(t *testing.T) {
	n := func(name string, p krtv1.NodePhase, out map[string]string) krtv1.NodeStatus {
		return krtv1.NodeStatus{Name: name, Phase: p, Outputs: out}
	}
	cases := []struct {
		name    string
		nodes   []krtv1.NodeStatus
		want    krtv1.NodePhase
		started bool
		outputs map[string]string
	}{
		{name: "not started", nodes: []krtv1.NodeStatus{n("other", krtv1.NodeSucceeded, nil)}, want: krtv1.NodePending},
		{name: "one node", nodes: []krtv1.NodeStatus{n("s", krtv1.NodeSucceeded, map[string]string{"a": "1"})}, want: krtv1.NodeSucceeded, started: true, outputs: map[string]string{"a": "1"}},
		{name: "an item still running", nodes: []krtv1.NodeStatus{n("s[a]", krtv1.NodeSucceeded, nil), n("s[b]", krtv1.NodeRunning, nil)}, want: krtv1.NodeRunning, started: true},
		{name: "an item failed", nodes: []krtv1.NodeStatus{n("s[a]", krtv1.NodeFailed, nil), n("s[b]", krtv1.NodeSucceeded, nil)}, want: krtv1.NodeFailed, started: true},
		{name: "all skipped", nodes: []krtv1.NodeStatus{n("s[a]", krtv1.NodeSkipped, nil), n("s[b]", krtv1.NodeSkipped, nil)}, want: krtv1.NodeSkipped, started: true},
		{name: "items agree on some outputs", nodes: []krtv1.NodeStatus{n("s[a]", krtv1.NodeSucceeded, map[string]string{"v": "1", "w": "x"}), n("s[b]", krtv1.NodeSucceeded, map[string]string{"v": "1", "w": "y"})},
			want: krtv1.NodeSucceeded, started: true, outputs: map[string]string{"v": "1"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := Summarize("s", tc.nodes)
			if s.Phase != tc.want || s.Started != tc.started || len(s.Outputs) != len(tc.outputs) {
				t.Fatalf("Summarize = %+v, want %s started=%v outputs=%v", s, tc.want, tc.started, tc.outputs)
			}
			for k, v := range tc.outputs {
				if s.Outputs[k] != v {
					t.Errorf("outputs[%s] = %q, want %q", k, s.Outputs[k], v)
				}
			}
		})
	}
}

func TestBlocked(t *testing.T) {
	sums := map[string]Summary{
		"done":    {Started: true, Phase: krtv1.NodeSucceeded},
		"running": {Started: true, Phase: krtv1.NodeRunning},
		"failed":  {Started: true, Phase: krtv1.NodeFailed},
		"skipped": {Started: true, Phase: krtv1.NodeSkipped},
	}
	if wait, _, _ := Blocked(krtv1.Step{Needs: []string{"done", "running"}}, nil, sums); !wait {
		t.Error("a step whose need is running does not wait")
	}
	if wait, _, _ := Blocked(krtv1.Step{Needs: []string{"done", "unstarted"}}, nil, sums); !wait {
		t.Error("a step whose need has not started does not wait")
	}
	wait, failed, skipped := Blocked(krtv1.Step{Needs: []string{"done", "failed", "skipped"}}, nil, sums)
	if wait || len(failed) != 1 || len(skipped) != 1 {
		t.Errorf("Blocked = %v %v %v", wait, failed, skipped)
	}
}

func TestNamesFitKubernetes(t *testing.T) {
	long := strings.Repeat("w", 250)
	const uid = "6f1c0e2a-0000-4000-8000-000000000001"
	if n := RunName(long, uid, "deploy[prod-eu]"); len(n) > 253 || RunName(long, uid, "deploy[prod-eu]") != n || n == RunName(long, uid, "deploy[prod-us]") {
		t.Fatalf("RunName is not short, stable and unique: %q", n)
	}
	// Namesakes in two hub namespaces share a remote namespace: their
	// Runs must not share names.
	if RunName("deploy", uid, "a") == RunName("deploy", "6f1c0e2a-0000-4000-8000-000000000002", "a") {
		t.Fatal("RunName does not tell two WorkflowRuns of one name apart")
	}
	if v := LabelValue(long); len(v) > 63 || v == LabelValue(long+"x") {
		t.Fatalf("LabelValue = %q", v)
	}
	if StepOf(NodeName("deploy", "prod-eu")) != "deploy" {
		t.Fatal("StepOf does not invert NodeName")
	}
}
