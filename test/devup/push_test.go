package devup

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/util/wait"
	"sigs.k8s.io/controller-runtime/pkg/client"

	krtv1 "krt.dev/krt/api/v1alpha1"
	"krt.dev/krt/cmd/krt/devstack"
)

// pushRunsHello is make run's flow (hack/make-run.sh) as a user follows
// it: clone the stack's repository, change hello's message, push, wait
// until `krt dev status` shows the commit applied and the WorkflowRun
// hello-push-<sha7> that the push starts has succeeded. Its deploy step
// must have run in staging: `krt wf graph -o wide` says so, `krt wf logs`
// shows what staging printed, and staging's API server holds its Run.
func pushRunsHello(t *testing.T, dir string, st *devstack.State) {
	message := "hello from the devup test at " + time.Now().Format("15:04:05.000")
	sha := pushMessage(t, st.GitURL, message)
	waitApplied(t, dir, sha)

	// The trigger controller names a push's run <workflow>-push-<sha7>.
	name := "hello-push-" + sha[:7]
	wr := waitEnded(t, kubeClient(t, st.Kubeconfig), name)
	env := []string{"KUBECONFIG=" + st.Kubeconfig}
	graph, code := krt(t, env, "wf", "graph", name, "-o", "wide")
	if wr.Status.Phase != krtv1.WorkflowSucceeded {
		t.Fatalf("WorkflowRun %s ended %s, want Succeeded: %s\n%s", name, wr.Status.Phase, wr.Status.Message, graph)
	}
	deploy := regexp.MustCompile(`(?m)^  ✓ deploy +cluster=staging +run=(\S+)`).FindStringSubmatch(graph)
	if code != 0 || !strings.HasPrefix(graph, name+" (Succeeded)") || deploy == nil {
		t.Fatalf("krt wf graph %s -o wide: exit %d, want the run Succeeded and a line \"✓ deploy cluster=staging run=…\":\n%s", name, code, graph)
	}
	logs, code := krt(t, env, "wf", "logs", name)
	// greet's page reached staging as an artifact, through the stack's
	// ArtifactStore.
	page := len("<h1>" + message + "</h1>\n")
	want := "--- deploy (on staging, Run " + deploy[1] + ")\nstaging received: " + message + "\n" +
		fmt.Sprintf("staging serves site/index.html, %d bytes from greet\n", page)
	if code != 0 || !strings.Contains(logs, want) {
		t.Errorf("krt wf logs %s: exit %d, want\n%s\nin:\n%s", name, code, want, logs)
	}
	ranIn(t, st, "staging", deploy[1])
}

// pushMessage changes hello's default message in a clone of the stack's
// repository and pushes it to main; it returns the commit.
func pushMessage(t *testing.T, gitURL, message string) string {
	t.Helper()
	work := filepath.Join(t.TempDir(), "clone")
	gitCmd(t, "", "clone", "--quiet", gitURL, work)
	file := filepath.Join(work, "workflows", "hello.yaml")
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	edited := strings.Replace(string(data), `default: "hello from krt"`, `default: "`+message+`"`, 1)
	if edited == string(data) {
		t.Fatalf("workflows/hello.yaml has no default message \"hello from krt\" to change:\n%s", data)
	}
	if err := os.WriteFile(file, []byte(edited), 0o644); err != nil {
		t.Fatal(err)
	}
	gitCmd(t, work, "commit", "--quiet", "-am", "Say: "+message)
	gitCmd(t, work, "push", "--quiet", "origin", "main")
	return gitCmd(t, work, "rev-parse", "HEAD")
}

// waitApplied waits until `krt dev status` names the commit as applied,
// as make run does.
func waitApplied(t *testing.T, dir, sha string) {
	t.Helper()
	applied := regexp.MustCompile(`(?m)^  applied: .*` + sha)
	var out string
	err := wait.PollUntilContextTimeout(context.Background(), 200*time.Millisecond, time.Minute, true, func(context.Context) (bool, error) {
		out, _ = krt(t, nil, "dev", "status", "--dir", dir)
		return applied.MatchString(out), nil
	})
	if err != nil {
		t.Fatalf("a minute after the push, `krt dev status` does not show %s applied:\n%s", sha[:7], out)
	}
}

// waitEnded waits for the WorkflowRun to exist and end.
func waitEnded(t *testing.T, c client.Client, name string) *krtv1.WorkflowRun {
	t.Helper()
	wr := &krtv1.WorkflowRun{}
	var getErr error
	err := wait.PollUntilContextTimeout(context.Background(), 200*time.Millisecond, 2*time.Minute, true, func(context.Context) (bool, error) {
		// Not the poll's context: the last error is then the server's
		// answer (not found, say), not the deadline's.
		getErr = c.Get(context.Background(), client.ObjectKey{Namespace: "default", Name: name}, wr)
		return getErr == nil && wr.Status.Phase.Terminal(), nil
	})
	if err != nil {
		t.Fatalf("WorkflowRun %s did not end within 2 minutes of the push (phase %q, %v): %s", name, wr.Status.Phase, getErr, wr.Status.Message)
	}
	return wr
}

// ranIn checks that the Run is in the named cluster's API server, and
// that it succeeded there.
func ranIn(t *testing.T, st *devstack.State, cluster, runName string) {
	t.Helper()
	for _, c := range st.Clusters {
		if c.Name != cluster {
			continue
		}
		run := &krtv1.Run{}
		if err := kubeClient(t, c.Kubeconfig).Get(context.Background(), client.ObjectKey{Namespace: "default", Name: runName}, run); err != nil {
			t.Fatalf("Run %s in %s's API server: %v", runName, cluster, err)
		}
		if run.Status.Phase != krtv1.RunSucceeded {
			t.Errorf("Run %s in %s is %s, want Succeeded: %s", runName, cluster, run.Status.Phase, run.Status.Message)
		}
		return
	}
	t.Fatalf("state.json names no cluster %s", cluster)
}
