package security

import (
	"context"
	"crypto/sha256"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	krtv1 "krt.dev/krt/api/v1alpha1"
	"krt.dev/krt/test/kubetest"
	"krt.dev/krt/workflows/parse"
)

// standInKubectl is the kubectl the test puts on the step's PATH, there
// being no kubectl image here. It proves it was handed its kubeconfig as a
// private file, and then prints it, as a careless tool would.
const standInKubectl = `#!/bin/bash
set -eu
test -f "$KUBECONFIG"
echo "kubeconfig $(stat -c %a "$KUBECONFIG") $(sha256sum < "$KUBECONFIG" | cut -c1-16) at $KUBECONFIG"
echo "kubectl $*"
cat "$KUBECONFIG" >&2
`

// referenceTool reads a tool of test/reference/tools as the controller
// would.
func referenceTool(t *testing.T, file string) krtv1.NamedTool {
	t.Helper()
	path := filepath.Join("..", "reference", "tools", file)
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	docs, errs := parse.File(path, data)
	if len(errs) > 0 || len(docs) != 1 {
		t.Fatalf("%s: %v", path, errs)
	}
	tool := docs[0].Object.(*krtv1.Tool)
	return krtv1.NamedTool{Name: tool.Name, Spec: tool.Spec}
}

// TestKubectlHealthCheckReadsItsKubeconfigFromASecretFile runs the
// reference document's kubectl health check tool, unchanged, in a
// workflow: it names only an image, so it runs on the Runtime of that
// image; its kubeconfig comes from a Secret as a file at
// KUBECONFIG=/secrets/kubeconfig; and the kubeconfig, though the tool
// prints it, is nowhere in the logs or the run's status.
func TestKubectlHealthCheckReadsItsKubeconfigFromASecretFile(t *testing.T) {
	ctx := context.Background()
	ns := env.Namespace(t)
	startRuntime(t, ns, "bash", 1)
	startRuntime(t, ns, "kubectl", 1, func(rt *krtv1.Runtime) {
		rt.Spec.Image, rt.Spec.Secrets = "kubiya/kubectl:latest", []string{"prod-cluster-config"}
	})
	kubeconfig := "apiVersion: v1\nkind: Config\nclusters:\n- name: prod\n  cluster:\n    server: https://prod-" + strings.ToLower(randomText(t, 12)) +
		".example:6443\nusers:\n- name: admin\n  user:\n    token: " + randomText(t, 48) + "\n"
	createSecret(t, ns, "prod-cluster-config", map[string]string{"config": kubeconfig})
	bin := t.TempDir()
	if err := os.WriteFile(filepath.Join(bin, "kubectl"), []byte(standInKubectl), 0o755); err != nil {
		t.Fatal(err)
	}

	wr := &krtv1.WorkflowRun{ObjectMeta: metav1.ObjectMeta{Name: "health", Namespace: ns},
		Spec: krtv1.WorkflowRunSpec{Workflow: "health", Tools: []krtv1.NamedTool{referenceTool(t, "kubectl-health-check.yaml")},
			Definition: krtv1.WorkflowSpec{On: krtv1.Triggers{Manual: &krtv1.ManualTrigger{}}, Steps: []krtv1.Step{
				{Name: "check", Uses: "kubectl-health-check", Env: map[string]string{"PATH": bin + ":" + os.Getenv("PATH")}}}},
			Event: krtv1.WorkflowEvent{Type: krtv1.EventManual, Manual: &krtv1.ManualEvent{User: kubetest.AdminUser}}}}
	if err := env.Client.Create(ctx, wr); err != nil {
		t.Fatal(err)
	}
	eventually(t, 2*time.Minute, "run health to end", func() bool {
		return env.Client.Get(ctx, client.ObjectKeyFromObject(wr), wr) == nil && wr.Status.Phase.Terminal()
	})
	if wr.Status.Phase != krtv1.WorkflowSucceeded {
		t.Fatalf("run ended %s: %s %+v", wr.Status.Phase, wr.Status.Message, wr.Status.Nodes)
	}
	runs := exprRuns(t, ns)
	if len(runs) != 1 || runs[0].Spec.Runtime != "kubectl" {
		t.Fatalf("want one Run on Runtime kubectl, the one of the tool's image; got %+v", runs)
	}
	out, code := runKrtCLI(t, "wf", "logs", wr.Name, "-n", ns)
	sum := fmt.Sprintf("%x", sha256.Sum256([]byte(kubeconfig)))[:16]
	for _, want := range []string{"kubeconfig 400 " + sum + " at ", "kubectl get pods --all-namespaces --field-selector=status.phase!=Running", "***"} {
		if code != 0 || !strings.Contains(out, want) {
			t.Fatalf("krt wf logs (exit %d) does not show %q:\n%s", code, want, out)
		}
	}
	if strings.Contains(out, " at /secrets/kubeconfig") {
		t.Errorf("KUBECONFIG was not pointed at the Run's own file:\n%s", out)
	}
	pod := podOf(t, &runs[0])
	status := fmt.Sprintf("%+v %+v", wr.Status, runs[0].Status)
	leaks(t, map[string]string{"krt wf logs": out, "krt logs": krtLogs(t, &runs[0]), "runtimed's container log": containerLog(t, pod),
		"the statuses of the run and its Run": status}, kubeconfig)
}
