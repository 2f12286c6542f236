package node_test

import (
	"context"
	"fmt"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	krtv1 "krt.dev/krt/api/v1alpha1"
	"krt.dev/krt/test/node"
)

func newLedger(t *testing.T) *node.Ledger {
	t.Helper()
	l, err := node.NewLedger()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = l.Close() })
	return l
}

// kubectl runs the kubectl `make tools` built, as the node's admin, with
// a discovery cache of its own: ~/.kube/cache may hold one for the same
// host:port from an earlier node with other CRDs.
func kubectl(t *testing.T, args ...string) string {
	t.Helper()
	flags := []string{"--kubeconfig", theNode.Kubeconfig, "--cache-dir", t.TempDir()}
	// A delete waits for the pod to go, which needs a live kubelet: bound
	// it, so a broken node fails the test with its state, not the binary's
	// timeout.
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, filepath.Join(root, "bin", "kubectl"), append(flags, args...)...).CombinedOutput()
	if err != nil {
		t.Fatalf("kubectl %s: %v\n%s\n%s", strings.Join(args, " "), err, out, theNode.Describe(context.Background(), ""))
	}
	return string(out)
}

func createRun(t *testing.T, ns string, spec krtv1.RunSpec) string {
	t.Helper()
	run := &krtv1.Run{ObjectMeta: metav1.ObjectMeta{Namespace: ns, GenerateName: "fault-"}, Spec: spec}
	if err := c.Create(context.Background(), run); err != nil {
		t.Fatal(err)
	}
	return run.Name
}

func waitRunEnd(t *testing.T, ns, name string) *krtv1.Run {
	t.Helper()
	var run *krtv1.Run
	eventually(t, ns, 3*time.Minute, "run "+name+" to end", func() bool {
		run = getRun(t, ns, name)
		return run.Status.Phase.Terminal()
	})
	return run
}

func waitLedger(t *testing.T, ns string, l *node.Ledger, line string) {
	t.Helper()
	eventually(t, ns, 2*time.Minute, "the ledger to record "+line, func() bool { return l.Count(line) > 0 })
}

// kubectl delete pod of a runtime pod mid-Run: the Run is finished by
// attempt 2, on the replacement pod, and attempt 1 never completed.
func TestDeletedRuntimePodRunFinishesAsAttempt2(t *testing.T) {
	ns := restrictedNamespace(t, "fault-delete")
	pythonRuntime(t, ns, "python", 1)
	ledger := newLedger(t)
	name := createRun(t, ns, krtv1.RunSpec{Runtime: "python",
		RetryPolicy: &krtv1.RetryPolicy{MaxAttempts: 2, Backoff: &metav1.Duration{Duration: 100 * time.Millisecond}},
		Script: fmt.Sprintf(`echo "start $KRT_ATTEMPT" > /dev/tcp/%[1]s
[ "$KRT_ATTEMPT" = 1 ] && sleep 120
echo "done $KRT_ATTEMPT" > /dev/tcp/%[1]s`, ledger.Addr)})
	waitLedger(t, ns, ledger, "start 1")
	first := getRun(t, ns, name).Status.AssignedPod
	kubectl(t, "delete", "pod", "-n", ns, first)
	run := waitRunEnd(t, ns, name)
	if run.Status.Phase != krtv1.RunSucceeded || run.Status.Attempt != 2 || run.Status.AssignedPod == first {
		t.Errorf("run ended %s as attempt %d on %s (%s), want Succeeded as attempt 2 on the replacement of %s",
			run.Status.Phase, run.Status.Attempt, run.Status.AssignedPod, run.Status.Message, first)
	}
	// Each line is a connection of its own, so their order is not kept.
	got := ledger.Lines()
	slices.Sort(got)
	if want := []string{"done 2", "start 1", "start 2"}; !slices.Equal(got, want) {
		t.Errorf("the steps recorded %q, want %q", got, want)
	}
}

// Killing runtimed's container through containerd: the kubelet restarts
// it and the new runtimed adopts the Run, which ends as attempt 1.
func TestKilledRuntimedContainerAdoptsItsRun(t *testing.T) {
	ns := restrictedNamespace(t, "fault-runtimed")
	pythonRuntime(t, ns, "python", 1)
	ledger := newLedger(t)
	name := createRun(t, ns, krtv1.RunSpec{Runtime: "python",
		Script: fmt.Sprintf(`echo "start $KRT_ATTEMPT" > /dev/tcp/%[1]s
sleep 25
echo "done $KRT_ATTEMPT" > /dev/tcp/%[1]s`, ledger.Addr)})
	waitLedger(t, ns, ledger, "start 1")
	podName := getRun(t, ns, name).Status.AssignedPod
	pod := &corev1.Pod{}
	if err := c.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: podName}, pod); err != nil {
		t.Fatal(err)
	}
	id := containerID(t, pod, "runtimed")
	if err := theNode.KillContainer(context.Background(), id); err != nil {
		t.Fatal(err)
	}
	eventually(t, ns, time.Minute, "the kubelet to restart runtimed", func() bool {
		_ = c.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: podName}, pod)
		for _, cs := range pod.Status.ContainerStatuses {
			if cs.Name == "runtimed" {
				return cs.RestartCount >= 1 && cs.Ready
			}
		}
		return false
	})
	run := waitRunEnd(t, ns, name)
	if run.Status.Phase != krtv1.RunSucceeded || run.Status.Attempt != 1 || run.Status.AssignedPod != podName {
		t.Errorf("run ended %s as attempt %d on %s (%s), want Succeeded as attempt 1 on %s",
			run.Status.Phase, run.Status.Attempt, run.Status.AssignedPod, run.Status.Message, podName)
	}
	if got, want := ledger.Lines(), []string{"start 1", "done 1"}; !slices.Equal(got, want) {
		t.Errorf("the steps recorded %q, want %q", got, want)
	}
}

func containerID(t *testing.T, pod *corev1.Pod, name string) string {
	t.Helper()
	for _, cs := range pod.Status.ContainerStatuses {
		if cs.Name == name {
			_, id, _ := strings.Cut(cs.ContainerID, "://")
			return id
		}
	}
	t.Fatalf("pod %s has no %s container", pod.Name, name)
	return ""
}

// Deleting the krt-controller pod mid-workflow: the new one carries the
// run on, and every step runs exactly once.
func TestDeletedControllerPodLosesAndDuplicatesNothing(t *testing.T) {
	ns := restrictedNamespace(t, "fault-controller")
	pythonRuntime(t, ns, "python", 1)
	ledger := newLedger(t)
	steps := []string{"one", "two", "three", "four", "five"}
	spec := krtv1.WorkflowSpec{On: krtv1.Triggers{Manual: &krtv1.ManualTrigger{}}}
	for i, s := range steps {
		step := krtv1.Step{Name: s, Runtime: "python",
			Run: fmt.Sprintf(`echo "ran %s" > /dev/tcp/%s; sleep 2`, s, ledger.Addr)}
		if i > 0 {
			step.Needs = []string{steps[i-1]}
		}
		spec.Steps = append(spec.Steps, step)
	}
	createWorkflow(t, ns, "chain", spec)
	run := strings.TrimSpace(krtOK(t, "wf", "trigger", "-n", ns, "chain"))
	waitLedger(t, ns, ledger, "ran two")
	dep := &appsv1.Deployment{}
	if err := c.Get(context.Background(), client.ObjectKey{Namespace: "krt-system", Name: "krt-controller"}, dep); err != nil {
		t.Fatal(err)
	}
	sel, _ := metav1.LabelSelectorAsSelector(dep.Spec.Selector)
	kubectl(t, "delete", "pod", "-n", "krt-system", "-l", sel.String())
	wr := waitWorkflowRun(t, ns, run, "end", 3*time.Minute, func(wr *krtv1.WorkflowRun) bool { return wr.Status.Phase.Terminal() })
	if wr.Status.Phase != krtv1.WorkflowSucceeded {
		t.Fatalf("run %s ended %s: %s", run, wr.Status.Phase, wr.Status.Message)
	}
	for _, s := range steps {
		if n := ledger.Count("ran " + s); n != 1 {
			t.Errorf("step %s ran %d times, want once (ledger %q)", s, n, ledger.Lines())
		}
	}
	runs := &krtv1.RunList{}
	if err := c.List(context.Background(), runs, client.InNamespace(ns), client.MatchingLabels{krtv1.LabelWorkflowRunUID: string(wr.UID)}); err != nil {
		t.Fatal(err)
	}
	if len(runs.Items) != len(steps) {
		t.Errorf("the workflow run made %d Runs, want one per step (%d)", len(runs.Items), len(steps))
	}
}
