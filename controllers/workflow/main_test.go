package workflow

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	krtv1 "krt.dev/krt/api/v1alpha1"
	"krt.dev/krt/controllers/cluster"
	"krt.dev/krt/test/kubetest"
	"krt.dev/krt/workflows/dag"
)

// testCostLimit is small enough for a test expression to run out, and
// large enough for every ordinary one.
const testCostLimit = 1000

var env *kubetest.Env

// TestMain runs the controller in-process against a real API server. No
// runtime pods run: the tests play runtimed and finish Runs themselves.
func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	var err error
	if env, err = kubetest.Start(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer env.Stop()
	// KRT_TEST_LOG=1 shows the controller's log.
	var out io.Writer = io.Discard
	if os.Getenv("KRT_TEST_LOG") != "" {
		out = os.Stderr
	}
	ctrl.SetLogger(zap.New(zap.WriteTo(out), zap.UseDevMode(true)))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	mgr, err := ctrl.NewManager(env.Config, ctrl.Options{
		Scheme: env.Scheme, Metrics: metricsserver.Options{BindAddress: "0"}, HealthProbeBindAddress: "0",
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	reg := cluster.NewRegistry(mgr.GetLogger())
	if err := cluster.SetupWithManager(mgr, reg, cluster.KubeconfigOptions{}); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	if err := SetupWithManager(ctx, mgr, reg, Options{Workers: 4, CostLimit: testCostLimit}); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	go func() {
		if err := mgr.Start(ctx); err != nil {
			fmt.Fprintln(os.Stderr, "manager:", err)
		}
	}()
	return m.Run()
}

const waitFor = 30 * time.Second

// eventually polls until ok, or fails the test with what it last saw.
func eventually(t *testing.T, what string, ok func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(waitFor)
	last := ""
	for time.Now().Before(deadline) {
		var done bool
		if done, last = ok(); done {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("timed out waiting for %s; last: %s", what, last)
}

// newRun creates a WorkflowRun of a manual event.
func newRun(t *testing.T, ns, name string, def krtv1.WorkflowSpec, params map[string]string) *krtv1.WorkflowRun {
	t.Helper()
	wr := &krtv1.WorkflowRun{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec: krtv1.WorkflowRunSpec{Workflow: name, Revision: "main@sha1:0123456789abcdef",
			Event: krtv1.WorkflowEvent{Type: krtv1.EventManual, Manual: &krtv1.ManualEvent{User: kubetest.AdminUser}}, Params: params, Definition: def, Tools: testTools},
	}
	if err := env.Client.Create(context.Background(), wr); err != nil {
		t.Fatal(err)
	}
	return wr
}

// waitPhase waits for the run to reach phase.
func waitPhase(t *testing.T, wr *krtv1.WorkflowRun, phase krtv1.WorkflowRunPhase) *krtv1.WorkflowRun {
	t.Helper()
	got := &krtv1.WorkflowRun{}
	eventually(t, "run "+wr.Name+" to be "+string(phase), func() (bool, string) {
		if err := env.Client.Get(context.Background(), client.ObjectKeyFromObject(wr), got); err != nil {
			return false, err.Error()
		}
		return got.Status.Phase == phase, describe(got)
	})
	return got
}

// waitNode waits for a node to reach phase, with a message holding msg.
func waitNode(t *testing.T, wr *krtv1.WorkflowRun, node string, phase krtv1.NodePhase, msg string) krtv1.NodeStatus {
	t.Helper()
	var found krtv1.NodeStatus
	eventually(t, fmt.Sprintf("node %s to be %s (%q)", node, phase, msg), func() (bool, string) {
		got := &krtv1.WorkflowRun{}
		if err := env.Client.Get(context.Background(), client.ObjectKeyFromObject(wr), got); err != nil {
			return false, err.Error()
		}
		for _, n := range got.Status.Nodes {
			if n.Name == node {
				found = n
				return n.Phase == phase && strings.Contains(n.Message, msg), describe(got)
			}
		}
		return false, describe(got)
	})
	return found
}

func describe(wr *krtv1.WorkflowRun) string {
	var b strings.Builder
	fmt.Fprintf(&b, "phase %q message %q nodes:", wr.Status.Phase, wr.Status.Message)
	for _, n := range wr.Status.Nodes {
		fmt.Fprintf(&b, " %s=%s(%s)", n.Name, n.Phase, n.Message)
	}
	return b.String()
}

// waitRunOf waits for the Run of a node, in the namespace given.
func waitRunOf(t *testing.T, ns string, wr *krtv1.WorkflowRun, node string) *krtv1.Run {
	t.Helper()
	run := &krtv1.Run{}
	key := client.ObjectKey{Namespace: ns, Name: dag.RunName(wr.Name, string(wr.UID), node)}
	eventually(t, "the Run of "+node, func() (bool, string) {
		err := env.Client.Get(context.Background(), key, run)
		return err == nil, fmt.Sprint(err)
	})
	return run
}

// finish plays runtimed: it ends a Run's attempt with phase.
func finish(t *testing.T, run *krtv1.Run, phase krtv1.RunPhase, outputs map[string]string, msg string) {
	t.Helper()
	run.Status.Attempt = 1
	run.Finish(phase, string(phase), msg, time.Now())
	run.Status.Outputs = outputs
	if err := env.Client.Status().Update(context.Background(), run); err != nil {
		t.Fatal(err)
	}
}

func envOf(run *krtv1.Run, name string) string {
	for _, e := range run.Spec.Env {
		if e.Name == name {
			return e.Value
		}
	}
	return ""
}

// approver is a client for a user in the given groups, as `krt wf
// approve` would be; system:masters lets it create the Approval.
func approver(t *testing.T, user string, groups ...string) client.Client {
	t.Helper()
	cfg, err := env.UserConfig(user, append([]string{"system:masters"}, groups...)...)
	if err != nil {
		t.Fatal(err)
	}
	c, err := client.New(cfg, client.Options{Scheme: env.Scheme})
	if err != nil {
		t.Fatal(err)
	}
	return c
}
