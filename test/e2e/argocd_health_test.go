package e2e

import (
	"context"
	"strings"
	"testing"
	"time"

	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	krtv1 "krt.dev/krt/api/v1alpha1"
	"krt.dev/krt/config/argocd"
	"krt.dev/krt/sources/gitserver"
	"krt.dev/krt/sources/gitserver/gittest"
)

const helloWorkflowYAML = `apiVersion: krt.dev/v1alpha1
kind: Workflow
metadata: {name: hello}
spec:
  on: {manual: {}}
  steps:
    - name: greet
      runtime: bash
      run: echo hello
`

// TestArgoCDHealthChecks runs config/argocd's Lua health checks, as Argo
// CD would, on objects the real controllers brought into each state.
func TestArgoCDHealthChecks(t *testing.T) {
	ns := setupRuntime(t, "bash", 1, 4)
	oneStep := func(script string) krtv1.WorkflowSpec {
		return krtv1.WorkflowSpec{On: krtv1.Triggers{Manual: &krtv1.ManualTrigger{}},
			Steps: []krtv1.Step{{Name: "only", Runtime: "bash", Run: script}}}
	}
	trigger := func(t *testing.T, wf string, spec krtv1.WorkflowSpec, until func(*krtv1.WorkflowRun) bool) string {
		createWorkflow(t, ns, wf, spec)
		name := strings.TrimSpace(mustKrt(t, "wf", "trigger", "-n", ns, wf))
		waitWfRun(t, ns, name, "reach its state", until)
		return name
	}
	runIn := func(script string, phase krtv1.RunPhase) func(*testing.T) string {
		return func(t *testing.T) string {
			run := newRun(t, ns, krtv1.RunSpec{Runtime: "bash", Script: script})
			return waitPhase(t, run, phase).Name
		}
	}
	wfPhase := func(p krtv1.WorkflowRunPhase) func(*krtv1.WorkflowRun) bool {
		return func(wr *krtv1.WorkflowRun) bool { return wr.Status.Phase == p }
	}
	cases := []struct {
		name, kind   string
		make         func(t *testing.T) string // brings an object into the state; returns its name
		status, says string
	}{
		{"run succeeded", "Run", runIn("true", krtv1.RunSucceeded), "Healthy", "exit code 0"},
		{"run failed", "Run", runIn("exit 3", krtv1.RunFailed), "Degraded", "NonZeroExit"},
		{"run running", "Run", runIn("sleep 60", krtv1.RunRunning), "Progressing", "Running on pod bash-"},
		{"run with no Runtime to run on", "Run", func(t *testing.T) string {
			run := newRun(t, ns, krtv1.RunSpec{Runtime: "absent", Script: "true"})
			return waitRun(t, run, time.Minute, "be unschedulable", func(r *krtv1.Run) bool {
				return apimeta.IsStatusConditionFalse(r.Status.Conditions, krtv1.ConditionScheduled)
			}).Name
		}, "Progressing", "Pending: "},
		{"workflowrun succeeded", "WorkflowRun", func(t *testing.T) string {
			return trigger(t, "ok", oneStep("echo ok"), wfPhase(krtv1.WorkflowSucceeded))
		}, "Healthy", ""},
		{"workflowrun failed", "WorkflowRun", func(t *testing.T) string {
			return trigger(t, "fails", oneStep("exit 3"), wfPhase(krtv1.WorkflowFailed))
		}, "Degraded", "Failed"},
		{"workflowrun running", "WorkflowRun", func(t *testing.T) string {
			return trigger(t, "slow", oneStep("sleep 60"), func(wr *krtv1.WorkflowRun) bool {
				return wfNode(wr, "only").Phase == krtv1.NodeRunning
			})
		}, "Progressing", "running: only"},
		{"workflowrun awaiting approval", "WorkflowRun", func(t *testing.T) string {
			return trigger(t, "gated", wfGated(), gateWaits)
		}, "Suspended", "approval"},
		{"runtime ready", "Runtime", func(t *testing.T) string {
			waitReady(t, ns, "bash", "True")
			return "bash"
		}, "Healthy", "1 of 1 pods ready"},
		{"runtime with a stalled pod", "Runtime", func(t *testing.T) string {
			createRuntime(t, ns, "stalls", 1, 1)
			// Ready first: the Runtime's status lags its pods', and a
			// Ready=False seen before it ever was Ready is not the stall.
			waitReady(t, ns, "stalls", "True")
			pod := podsOf(ns, "stalls")[0].Name
			if err := pool.PauseRuntimed(ns, pod); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = pool.ResumeRuntimed(ns, pod) })
			waitReady(t, ns, "stalls", "False")
			return "stalls"
		}, "Progressing", "0 of 1 pods ready"},
		{"runtime krt cannot run", "Runtime", func(t *testing.T) string {
			rt := &krtv1.Runtime{ObjectMeta: objectMeta(ns, "invalid"),
				Spec: krtv1.RuntimeSpec{Image: "Not An Image", Replicas: ptr.To(int32(1)), Capacity: 1}}
			if err := env.Client.Create(context.Background(), rt); err != nil {
				t.Fatal(err)
			}
			waitReady(t, ns, "invalid", "False")
			return "invalid"
		}, "Degraded", "InvalidSpec"},
		{"repository applied", "WorkflowRepository", func(t *testing.T) string {
			srv := gittest.Serve(t, gitserver.Options{}, "flows")
			clone := gittest.NewClone(t, srv.URL)
			clone.Write(map[string]string{"workflows/hello.yaml": helloWorkflowYAML})
			clone.Commit("hello")
			clone.Push("HEAD:refs/heads/main")
			return repoIn(t, ns, "applied", srv.URL, "True")
		}, "Healthy", ""},
		{"repository failing to fetch", "WorkflowRepository", func(t *testing.T) string {
			return repoIn(t, ns, "unreachable", "http://127.0.0.1:1/flows.git", "False")
		}, "Degraded", "FetchFailed"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			name := c.make(t)
			u := &unstructured.Unstructured{}
			u.SetGroupVersionKind(krtv1.GroupVersion.WithKind(c.kind))
			if err := env.Client.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: name}, u); err != nil {
				t.Fatal(err)
			}
			status, msg, err := argocd.Health(c.kind, u.Object)
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("%s %s: %s: %s", c.kind, name, status, msg)
			if status != c.status || msg == "" || !strings.Contains(msg, c.says) {
				t.Errorf("%s %s: status %q, message %q; want %s, saying %q\nstatus: %v", c.kind, name, status, msg, c.status, c.says, u.Object["status"])
			}
		})
	}
}

// waitReady waits until a Runtime's Ready condition has status.
func waitReady(t *testing.T, ns, name string, status metav1.ConditionStatus) {
	t.Helper()
	eventually(t, time.Minute, "runtime "+name+" Ready="+string(status), func() bool {
		rt := &krtv1.Runtime{}
		return env.Client.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: name}, rt) == nil &&
			apimeta.IsStatusConditionPresentAndEqual(rt.Status.Conditions, krtv1.ConditionReady, status)
	})
}

// repoIn creates a WorkflowRepository for url and waits until its Ready
// condition has status.
func repoIn(t *testing.T, ns, name, url string, status metav1.ConditionStatus) string {
	t.Helper()
	repo := &krtv1.WorkflowRepository{ObjectMeta: objectMeta(ns, name), Spec: krtv1.WorkflowRepositorySpec{
		URL: url, Ref: &krtv1.GitRef{Branch: "main"}, Interval: metav1.Duration{Duration: time.Minute}}}
	if err := env.Client.Create(context.Background(), repo); err != nil {
		t.Fatal(err)
	}
	eventually(t, time.Minute, "repository "+name+" Ready="+string(status), func() bool {
		cur := &krtv1.WorkflowRepository{}
		return env.Client.Get(context.Background(), client.ObjectKeyFromObject(repo), cur) == nil &&
			apimeta.IsStatusConditionPresentAndEqual(cur.Status.Conditions, krtv1.ConditionReady, status)
	})
	return name
}
