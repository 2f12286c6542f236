package promote

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"sigs.k8s.io/controller-runtime/pkg/client"

	krtv1 "krt.dev/krt/api/v1alpha1"
	"krt.dev/krt/test/kubetest"
	"krt.dev/krt/workflows/dag"
)

// sleeper is a step that sleeps in a child process and notes its shell's
// and the child's pids in dir/name, so a test can see both stop.
func sleeper(dir, name string) string {
	f := filepath.Join(dir, name)
	return fmt.Sprintf("sleep 120 &\necho \"$$ $!\" > %[1]s.tmp && mv %[1]s.tmp %[1]s\nwait", f)
}

// Cancelling a WorkflowRun cancels its Runs in every cluster: each Run it
// made, in the hub and in staging, ends Cancelled, and the processes of
// its step stop.
func TestCancelReachesEveryCluster(t *testing.T) {
	ns := hub.env.Namespace(t)
	runtime(t, hub, ns, "bash")
	const remoteNS = "cancel"
	namespace(t, staging, remoteNS)
	runtime(t, staging, remoteNS, "bash")
	register(t, ns, "staging", staging, remoteNS)
	pids := t.TempDir()
	createWorkflow(t, ns, "long",
		krtv1.Step{Name: "here", Runtime: "bash", Run: sleeper(pids, "here")},
		krtv1.Step{Name: "there", Cluster: "staging", Runtime: "bash", Run: sleeper(pids, "there")})
	manualRun(t, ns, "long", "long", nil)
	wr := waitRun(t, ns, "long", "run both steps", func(wr *krtv1.WorkflowRun) bool {
		return node(wr, "here").Phase == krtv1.NodeRunning && node(wr, "there").Phase == krtv1.NodeRunning
	})
	procs := map[string][]int{}
	eventually(t, time.Minute, "both steps' processes to start", func() (bool, string) {
		for _, step := range []string{"here", "there"} {
			if procs[step] = readPids(filepath.Join(pids, step)); procs[step] == nil {
				return false, "no pids of " + step
			}
		}
		return true, ""
	})

	patch := client.MergeFrom(wr.DeepCopy())
	wr.Spec.CancelRequested, wr.Spec.CancelledBy = true, kubetest.AdminUser
	if err := hub.env.Client.Patch(context.Background(), wr, patch); err != nil {
		t.Fatal(err)
	}
	waitRun(t, ns, "long", "be cancelled", func(wr *krtv1.WorkflowRun) bool { return wr.Status.Phase == krtv1.WorkflowCancelled })
	for _, where := range []struct {
		name, ns, node string
		c              cluster
	}{{"hub", ns, "here", hub}, {"staging", remoteNS, "there", staging}} {
		eventually(t, time.Minute, "the "+where.name+" Run to be cancelled", func() (bool, string) {
			list := &krtv1.RunList{}
			if err := where.c.env.Client.List(context.Background(), list, client.InNamespace(where.ns),
				client.MatchingLabels{krtv1.LabelWorkflowRun: dag.LabelValue("long")}); err != nil {
				return false, err.Error()
			}
			var seen []string
			for _, r := range list.Items {
				seen = append(seen, fmt.Sprintf("%s=%s", r.Name, r.Status.Phase))
			}
			if len(list.Items) != 1 || list.Items[0].Name != node(wr, where.node).Run {
				return false, fmt.Sprintf("Runs %v, want only %s's", seen, where.node)
			}
			return list.Items[0].Status.Phase == krtv1.RunCancelled, fmt.Sprint(seen)
		})
	}
	eventually(t, time.Minute, "the steps' processes to stop", func() (bool, string) {
		var alive []string
		for step, ps := range procs {
			for _, pid := range ps {
				if running(pid) {
					alive = append(alive, fmt.Sprintf("%s's %d", step, pid))
				}
			}
		}
		return len(alive) == 0, fmt.Sprint("still running: ", alive)
	})
}

// readPids reads a sleeper's pids, nil until it has written them.
func readPids(path string) []int {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil
	}
	var shell, child int
	if _, err := fmt.Sscan(string(data), &shell, &child); err != nil {
		return nil
	}
	return []int{shell, child}
}

// running reports whether pid is a live process of a step: not gone,
// not a zombie waiting to be reaped, and not since reused by another
// program.
func running(pid int) bool {
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if errors.Is(err, os.ErrNotExist) {
		return false
	}
	if err != nil {
		return true
	}
	// pid (comm) state ...: comm may hold spaces, so read after its ')'.
	s := string(stat)
	comm := s[strings.IndexByte(s, '(')+1 : strings.LastIndexByte(s, ')')]
	state := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])[0]
	return state != "Z" && state != "X" && (comm == "bash" || comm == "sleep")
}
