package node_test

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"

	krtv1 "krt.dev/krt/api/v1alpha1"
)

// krtCmd is the krt CLI as a user runs it, against the node.
func krtCmd(args ...string) *exec.Cmd {
	cmd := exec.Command(bins.Krt, args...)
	cmd.Env = append(os.Environ(), "KUBECONFIG="+theNode.Kubeconfig)
	return cmd
}

// krtOK runs the CLI and fails the test unless it exits 0.
func krtOK(t *testing.T, args ...string) string {
	t.Helper()
	var stdout, stderr bytes.Buffer
	cmd := krtCmd(args...)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("krt %s: %v\nstderr: %s", strings.Join(args, " "), err, stderr.String())
	}
	return stdout.String()
}

// startRun creates a Run with krt run and returns its name.
func startRun(t *testing.T, ns, runtime, script string) string {
	t.Helper()
	out := krtOK(t, "run", "-n", ns, "-r", runtime, "-o", "name", "--", script)
	return strings.TrimPrefix(strings.TrimSpace(out), "run.krt.dev/")
}

func getRun(t *testing.T, ns, name string) *krtv1.Run {
	t.Helper()
	run := &krtv1.Run{}
	if err := c.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: name}, run); err != nil {
		t.Fatal(err)
	}
	return run
}

// krt logs -f on a real cluster reads the Run's output through the API
// server while the Run is still going, and ends when the Run does.
func TestLogsFollowStreamsARunningRun(t *testing.T) {
	ns := restrictedNamespace(t, "logs")
	pythonRuntime(t, ns, "python", 1)
	// Long enough that krt logs -f starts well before the end, even on a
	// loaded machine.
	name := startRun(t, ns, "python", `for i in $(seq 1 12); do echo "line-$i"; sleep 1; done`)
	eventually(t, ns, time.Minute, "run "+name+" to start", func() bool {
		return getRun(t, ns, name).Status.Phase == krtv1.RunRunning
	})
	cmd := krtCmd("logs", "-f", "-n", ns, name)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// A krt logs -f that never ends must not hang the package.
	stuck := time.AfterFunc(2*time.Minute, func() { _ = cmd.Process.Kill() })
	defer stuck.Stop()
	lines := bufio.NewScanner(stdout)
	var got []string
	phaseAtFirst := krtv1.RunPhase("")
	for lines.Scan() {
		if len(got) == 0 {
			phaseAtFirst = getRun(t, ns, name).Status.Phase
		}
		got = append(got, lines.Text())
	}
	if _, err := io.Copy(io.Discard, stdout); err != nil && !errors.Is(err, os.ErrClosed) {
		t.Log(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("krt logs -f: %v\n%s", err, stderr.String())
		}
	case <-time.After(time.Minute):
		_ = cmd.Process.Kill()
		t.Fatal("krt logs -f did not end with the Run")
	}
	if phaseAtFirst.Terminal() {
		t.Errorf("the first line came when the Run was already %s: that is not following", phaseAtFirst)
	}
	var want []string
	for i := 1; i <= 12; i++ {
		want = append(want, fmt.Sprintf("line-%d", i))
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("krt logs -f printed %q, want %q", got, want)
	}
}

// On a real cluster the API server decides who reads a Run's log: a
// user who may read Runs but not pods/log is refused, and gets the log
// once granted pods/log.
func TestLogsNeedPodsLogRights(t *testing.T) {
	ns := restrictedNamespace(t, "logs-rbac")
	pythonRuntime(t, ns, "python", 1)
	name := startRun(t, ns, "python", "echo only-for-readers")
	eventually(t, ns, time.Minute, "run "+name+" to end", func() bool { return getRun(t, ns, name).Status.Phase.Terminal() })
	kubeconfig, err := theNode.UserKubeconfig("log-reader")
	if err != nil {
		t.Fatal(err)
	}
	rules := []rbacv1.PolicyRule{
		{APIGroups: []string{"krt.dev"}, Resources: []string{"runs"}, Verbs: []string{"get", "list", "watch"}},
		{APIGroups: []string{""}, Resources: []string{"pods"}, Verbs: []string{"get"}},
	}
	grantRole(t, ns, "log-reader", rules)
	var stdout, stderr bytes.Buffer
	cmd := krtCmd("--kubeconfig", kubeconfig, "logs", "-n", ns, name)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err == nil || !strings.Contains(stderr.String(), "pods/log") || strings.Contains(stdout.String(), "only-for-readers") {
		t.Errorf("without pods/log: err %v, stdout %q, stderr %q; want refused by the API server", err, stdout.String(), stderr.String())
	}
	grantRole(t, ns, "log-reader", append(rules, rbacv1.PolicyRule{APIGroups: []string{""}, Resources: []string{"pods/log"}, Verbs: []string{"get"}}))
	eventually(t, ns, 30*time.Second, "the log once pods/log is granted", func() bool {
		out, err := krtCmd("--kubeconfig", kubeconfig, "logs", "-n", ns, name).Output()
		return err == nil && strings.TrimSpace(string(out)) == "only-for-readers"
	})
}

// grantRole gives user a Role in ns with these rules, replacing any
// earlier grant.
func grantRole(t *testing.T, ns, user string, rules []rbacv1.PolicyRule) {
	t.Helper()
	ctx := context.Background()
	role := &rbacv1.Role{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: user}}
	if _, err := controllerutil.CreateOrUpdate(ctx, c, role, func() error { role.Rules = rules; return nil }); err != nil {
		t.Fatal(err)
	}
	rb := &rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: user}}
	if _, err := controllerutil.CreateOrUpdate(ctx, c, rb, func() error {
		rb.RoleRef = rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: user}
		rb.Subjects = []rbacv1.Subject{{APIGroup: rbacv1.GroupName, Kind: rbacv1.UserKind, Name: user}}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
}
