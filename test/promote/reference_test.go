package promote

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"sigs.k8s.io/controller-runtime/pkg/client"

	krtv1 "krt.dev/krt/api/v1alpha1"
	"krt.dev/krt/workflows/parse"
)

// The reference documents' workflows run as written (test/reference),
// their runners resolving to Clusters named as in the documents: the
// staging API server plays staging-cluster-runner, aws-us-east-runner and
// cloudflare-runner, the prod one production-cluster-runner and
// gcp-us-central-runner, each on its default runtime bash; testing-runner
// is a Runtime of the hub. Steps with no runner run on the hub's bash.
func TestReferenceWorkflows(t *testing.T) {
	ns := hub.env.Namespace(t)
	runtime(t, hub, ns, "bash")
	runtime(t, hub, ns, "testing-runner")
	const remoteNS = "reference"
	for _, c := range []cluster{staging, prod} {
		namespace(t, c, remoteNS)
		runtime(t, c, remoteNS, "bash")
	}
	for _, name := range []string{"staging-cluster-runner", "aws-us-east-runner", "cloudflare-runner"} {
		register(t, ns, name, staging, remoteNS)
	}
	for _, name := range []string{"production-cluster-runner", "gcp-us-central-runner"} {
		register(t, ns, name, prod, remoteNS)
	}
	applyReference(t, ns)

	t.Run("multi-environment-deployment", func(t *testing.T) {
		// BUILD_VERSION names no step: it is a param the run must give.
		out, code := krt(t, hub.env.Kubeconfig, "wf", "trigger", "multi-environment-deployment", "-n", ns)
		if code == 0 || !strings.Contains(out, "param BUILD_VERSION of workflow multi-environment-deployment has no default") {
			t.Errorf("trigger without BUILD_VERSION: exit %d: %s", code, out)
		}
		wr := triggerRun(t, ns, "multi-environment-deployment", "-p", "BUILD_VERSION=1.4.2")
		want := map[string]string{"deploy-to-staging": "staging-cluster-runner", "run-integration-tests": "", "deploy-to-production": "production-cluster-runner"}
		for step, cl := range want {
			if n := node(wr, step); n.Phase != krtv1.NodeSucceeded || n.Cluster != cl {
				t.Errorf("%s: %s in cluster %q, want Succeeded in %q (%s)", step, n.Phase, n.Cluster, cl, n.Message)
			}
		}
		if got := node(wr, "deploy-to-production").Outputs["deployed"]; got != "myapp:1.4.2@myapp-prod" {
			t.Errorf("deploy-to-production deployed %q", got)
		}
	})

	t.Run("cross-cloud-failover", func(t *testing.T) {
		wr := triggerRun(t, ns, "cross-cloud-failover")
		if got, want := node(wr, "update-dns").Outputs["updated"], "api.myapp.com -> https://gcp.myapp.example/restored/myapp-0001.tar"; got != want {
			t.Errorf("update-dns received %q, want restore-to-gcp's endpoint: %q", got, want)
		}
		want := map[string]string{"backup-aws-data": "aws-us-east-runner", "restore-to-gcp": "gcp-us-central-runner", "update-dns": "cloudflare-runner"}
		for step, cl := range want {
			if n := node(wr, step); n.Cluster != cl {
				t.Errorf("%s ran in %q, want %q", step, n.Cluster, cl)
			}
		}
	})

	t.Run("tool-chain", func(t *testing.T) {
		wr := triggerRun(t, ns, "tool-chain")
		if n := node(wr, "deploy-app"); n.Phase != krtv1.NodeSucceeded || n.Outputs["deployed"] != "myapp:1.4.2@default" {
			t.Errorf("deploy-app: %+v, want it run with build-app's IMAGE_TAG", n)
		}
		// The same chain when the tests fail: the condition is false, and
		// deploy-app is skipped.
		tool := &krtv1.Tool{}
		if err := hub.env.Client.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: "test-runner"}, tool); err != nil {
			t.Fatal(err)
		}
		tool.Spec.Script = strings.Replace(tool.Spec.Script, "TEST_RESULTS=PASSED", "TEST_RESULTS=FAILED", 1)
		if err := hub.env.Client.Update(context.Background(), tool); err != nil {
			t.Fatal(err)
		}
		wr = triggerRun(t, ns, "tool-chain")
		if n := node(wr, "deploy-app"); n.Phase != krtv1.NodeSkipped || !strings.Contains(n.Message, "if was false") {
			t.Errorf("deploy-app after failed tests: %s (%s), want Skipped by its condition", n.Phase, n.Message)
		}
	})

	t.Run("parallel-health-checks", func(t *testing.T) {
		wr := triggerRun(t, ns, "parallel-health-checks")
		for step, env := range map[string]string{"check-prod": "production", "check-staging": "staging", "check-dev": "development"} {
			if got := node(wr, step).Outputs["checked"]; got != env {
				t.Errorf("%s checked %q, want %q", step, got, env)
			}
		}
	})
}

// triggerRun starts a workflow with `krt wf trigger`, as a user would,
// and waits for the run to succeed.
func triggerRun(t *testing.T, ns, workflow string, args ...string) *krtv1.WorkflowRun {
	t.Helper()
	out, code := krt(t, hub.env.Kubeconfig, append([]string{"wf", "trigger", workflow, "-n", ns}, args...)...)
	if code != 0 {
		t.Fatalf("krt wf trigger %s: exit %d: %s", workflow, code, out)
	}
	name := strings.TrimSpace(out)
	wr := waitRun(t, ns, name, "finish", func(wr *krtv1.WorkflowRun) bool { return wr.Status.Phase.Terminal() })
	if wr.Status.Phase != krtv1.WorkflowSucceeded {
		t.Fatalf("%s ended %s: %s", name, wr.Status.Phase, describe(wr))
	}
	return wr
}

// applyReference creates the reference workflows and stand-in tools in
// the hub, parsed as the source controller parses a repository.
func applyReference(t *testing.T, ns string) {
	t.Helper()
	dir := filepath.Join("..", "reference")
	files, _ := filepath.Glob(filepath.Join(dir, "*.yaml"))
	standins, _ := filepath.Glob(filepath.Join(dir, "standins", "*.yaml"))
	for _, f := range append(files, standins...) {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		docs, errs := parse.File(filepath.Base(f), data)
		if len(errs) > 0 {
			t.Fatalf("%s: %v", f, errs)
		}
		for _, d := range docs {
			d.Object.SetNamespace(ns)
			if err := hub.env.Client.Create(context.Background(), d.Object); err != nil {
				t.Fatal(err)
			}
		}
	}
}
