package promote

import (
	"context"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	krtv1 "krt.dev/krt/api/v1alpha1"
)

// The seed dialect with its tools runs as written: row-counter's output
// reaches threshold-check as an input, publish runs in staging only
// because check's status is "success", with the token from a Secret.
func TestSeedDialect(t *testing.T) {
	ns := hub.env.Namespace(t)
	runtime(t, hub, ns, "bash")
	runtime(t, hub, ns, "python")
	const remoteNS = "seed"
	namespace(t, staging, remoteNS)
	token := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "report-token", Namespace: remoteNS},
		StringData: map[string]string{"token": "s3cret-token"}}
	if err := staging.env.Client.Create(context.Background(), token); err != nil {
		t.Fatal(err)
	}
	runtime(t, staging, remoteNS, "bash", "report-token")
	register(t, ns, "staging", staging, remoteNS)
	apply(t, ns, nil, "tools.yaml", "seed-dialect.yaml")

	manualRun(t, ns, "nightly-report", "nightly", nil)
	wr := waitRun(t, ns, "nightly", "finish", func(wr *krtv1.WorkflowRun) bool { return wr.Status.Phase.Terminal() })
	if wr.Status.Phase != krtv1.WorkflowSucceeded {
		t.Fatalf("run ended %s: %s", wr.Status.Phase, describe(wr))
	}
	if got := node(wr, "collect").Outputs["rows"]; got != "42" {
		t.Errorf("collect rows = %q, want 42", got)
	}
	if n := node(wr, "check"); n.Phase != krtv1.NodeSucceeded {
		t.Errorf("check: %+v", n)
	}
	if n := node(wr, "publish"); n.Phase != krtv1.NodeSucceeded || n.Cluster != "staging" {
		t.Errorf("publish: %+v, want Succeeded in staging (its condition was true)", n)
	}
}
