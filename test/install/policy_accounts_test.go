package install

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"sigs.k8s.io/controller-runtime/pkg/client"
)

// With a second control-plane release in the cluster, the release that
// installs the policies lists the other's controller account, or that
// one's push, pull-request and schedule runs are refused. Each policy
// that names this release's account names both, and the API server
// compiles each (a dry run, under names of its own: policies are
// cluster-wide).
func TestChartPolicyControllerAccounts(t *testing.T) {
	const other = "system:serviceaccount:ci:krt-ci-controller"
	const own = "system:serviceaccount:krt-system:krt-controller"
	env := cluster(t, "helm")
	named := 0
	for _, o := range render(t, "policy.controllerAccounts={ci:krt-ci-controller}") {
		if o.GetKind() != "ValidatingAdmissionPolicy" {
			continue
		}
		data, err := json.Marshal(o.Object)
		if err != nil {
			t.Fatal(err)
		}
		text := string(data)
		if strings.Contains(text, own) {
			named++
			if !strings.Contains(text, "['"+own+"', '"+other+"']") {
				t.Errorf("policy %s names %s but not %s in one list", o.GetName(), own, other)
			}
		}
		// Under a name of its own: another test may have installed the
		// chart's policies in this cluster.
		o.SetName(o.GetName() + "-accounts")
		if err := env.Client.Create(context.Background(), o, client.DryRunAll); err != nil {
			t.Errorf("policy %s: %v", o.GetName(), err)
		}
	}
	if named < 3 {
		t.Errorf("%d policies name the controller's account; want at least the origin, manual-trigger and runtime-pods policies", named)
	}
}
