package promote

import (
	"context"
	"strings"
	"testing"

	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	krtv1 "krt.dev/krt/api/v1alpha1"
	"krt.dev/krt/test/kubetest"
)

// world sets up one test's namespaces: runtimes in the hub, a deployer
// runtime in staging and in both prod namespaces, and the three Clusters.
func world(t *testing.T, suffix string) string {
	t.Helper()
	ns := hub.env.Namespace(t)
	runtime(t, hub, ns, "bash")
	runtime(t, hub, ns, "python")
	for _, r := range []struct {
		name string
		c    cluster
	}{{"staging", staging}, {"prod-eu", prod}, {"prod-us", prod}} {
		remoteNS := r.name + "-" + suffix
		namespace(t, r.c, remoteNS)
		runtime(t, r.c, remoteNS, "deployer")
		register(t, ns, r.name, r.c, remoteNS)
	}
	return ns
}

// releaseManager is a user in group release-managers whom RBAC lets
// approve; the CLI acts as them through their own kubeconfig.
func releaseManager(t *testing.T, ns string) string {
	t.Helper()
	ctx := context.Background()
	role := &rbacv1.Role{ObjectMeta: metav1.ObjectMeta{Name: "approver", Namespace: ns}, Rules: []rbacv1.PolicyRule{
		{APIGroups: []string{"krt.dev"}, Resources: []string{"approvals"}, Verbs: []string{"create"}},
		{APIGroups: []string{"krt.dev"}, Resources: []string{"workflowruns", "workflows"}, Verbs: []string{"get", "list", "watch"}},
	}}
	binding := &rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Name: "approver", Namespace: ns},
		RoleRef:  rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "Role", Name: "approver"},
		Subjects: []rbacv1.Subject{{Kind: "Group", APIGroup: "rbac.authorization.k8s.io", Name: "release-managers"}}}
	for _, o := range []client.Object{role, binding} {
		if err := hub.env.Client.Create(ctx, o); err != nil {
			t.Fatal(err)
		}
	}
	kc, err := hub.env.UserKubeconfig("rita", "release-managers")
	if err != nil {
		t.Fatal(err)
	}
	return kc
}

// manualRun starts a workflow as `krt wf trigger` would, with the
// namespace's Tools.
func manualRun(t *testing.T, ns, workflow, name string, params map[string]string) {
	t.Helper()
	ctx := context.Background()
	wf := &krtv1.Workflow{}
	if err := hub.env.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: workflow}, wf); err != nil {
		t.Fatal(err)
	}
	tools := &krtv1.ToolList{}
	if err := hub.env.Client.List(ctx, tools, client.InNamespace(ns)); err != nil {
		t.Fatal(err)
	}
	wr := &krtv1.WorkflowRun{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
		Spec: krtv1.WorkflowRunSpec{Workflow: wf.Name, Definition: wf.Spec, Params: params,
			Event: krtv1.WorkflowEvent{Type: krtv1.EventManual, Manual: &krtv1.ManualEvent{User: kubetest.AdminUser}}},
	}
	for _, tool := range tools.Items {
		wr.Spec.Tools = append(wr.Spec.Tools, krtv1.NamedTool{Name: tool.Name, Spec: tool.Spec})
	}
	if err := hub.env.Client.Create(context.Background(), wr); err != nil {
		t.Fatal(err)
	}
}

// promote.yaml end to end: build in the hub, deploy to staging, smoke in
// python, an approval through the CLI, then prod-eu and prod-us, and
// finally. When smoke fails, deploy-prod is skipped and finally still runs.
func TestPromoteAcrossClusters(t *testing.T) {
	cases := []struct {
		name       string
		stagingURL string
		wantProd   krtv1.NodePhase
	}{
		{"smoke passes", "https://staging.web.local", krtv1.NodeSucceeded},
		{"smoke fails", "http://staging.web.local", krtv1.NodeSkipped},
	}
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ns := world(t, string(rune('a'+i)))
			rita := releaseManager(t, ns)
			apply(t, ns, func(o client.Object) {
				wf := o.(*krtv1.Workflow)
				wf.Spec.Steps[1].Run = strings.Replace(wf.Spec.Steps[1].Run, "https://staging.web.local", c.stagingURL, 1)
			}, "promote.yaml")
			manualRun(t, ns, "promote-web", "promote", map[string]string{"version": "1.2.3"})

			waitRun(t, ns, "promote", "wait for approval", func(wr *krtv1.WorkflowRun) bool {
				return node(wr, "approve-prod").Phase == krtv1.NodeWaiting
			})
			if out, code := krt(t, rita, "wf", "approve", "promote", "approve-prod", "-n", ns); code != 0 {
				t.Fatalf("krt wf approve: exit %d: %s", code, out)
			}
			wr := waitRun(t, ns, "promote", "finish", func(wr *krtv1.WorkflowRun) bool { return wr.Status.Phase.Terminal() })
			if wr.Status.Phase != krtv1.WorkflowSucceeded {
				t.Fatalf("run ended %s: %s", wr.Status.Phase, describe(wr))
			}
			checkNodes(t, wr, c.wantProd)
			checkNodeSpans(t, wr, "approve-prod")
		})
	}
}

func checkNodes(t *testing.T, wr *krtv1.WorkflowRun, wantProd krtv1.NodePhase) {
	t.Helper()
	build := node(wr, "build")
	if want := "registry.local/web:1.2.3"; build.Outputs["image"] != want {
		t.Errorf("build output image %q, want %q", build.Outputs["image"], want)
	}
	if n := node(wr, "deploy-staging"); n.Phase != krtv1.NodeSucceeded || n.Cluster != "staging" {
		t.Errorf("deploy-staging: %+v, want Succeeded in cluster staging", n)
	}
	wantResult := map[krtv1.NodePhase]string{krtv1.NodeSucceeded: "passed", krtv1.NodeSkipped: "failed"}[wantProd]
	if got := node(wr, "smoke").Outputs["result"]; got != wantResult {
		t.Errorf("smoke result %q, want %q", got, wantResult)
	}
	if n := node(wr, "approve-prod"); n.ApprovedBy != "rita" {
		t.Errorf("approve-prod approved by %q, want rita", n.ApprovedBy)
	}
	if wantProd == krtv1.NodeSucceeded {
		for _, region := range []string{"prod-eu", "prod-us"} {
			if n := node(wr, "deploy-prod["+region+"]"); n.Phase != krtv1.NodeSucceeded || n.Cluster != region {
				t.Errorf("deploy-prod[%s]: %+v, want Succeeded in cluster %s", region, n, region)
			}
		}
	} else if n := node(wr, "deploy-prod"); n.Phase != krtv1.NodeSkipped {
		t.Errorf("deploy-prod: %+v, want Skipped", n)
	}
	if n := node(wr, "notify"); n.Phase != krtv1.NodeSucceeded {
		t.Errorf("finally step notify: %+v, want Succeeded", n)
	}
}
