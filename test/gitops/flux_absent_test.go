package gitops

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	sourcev1 "github.com/fluxcd/source-controller/api/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/discovery"
	"sigs.k8s.io/controller-runtime/pkg/client"

	krtv1 "krt.dev/krt/api/v1alpha1"
	"krt.dev/krt/sources/gitserver"
	"krt.dev/krt/test/kubetest"
)

// On a cluster without Flux, krt-controller --flux=auto starts without
// Flux's watches (with them it would not start at all): a git repository
// is applied as usual, and a sourceRef gets a condition that says Flux is
// not there, instead of the API server's "no matches for kind". This needs
// an API server of its own, since the package's has Flux's CRDs.
func TestFluxAutoWithoutFlux(t *testing.T) {
	noFlux := apiServerWithoutFlux(t)
	startController(t, noFlux, "--controllers", "source", "--flux", "auto")
	ns := noFlux.Namespace(t)

	g := serveRepo(t, gitserver.Options{}, map[string]string{"workflows/a.yaml": workflowYAML("a", "v1")})
	plain := newRepository(t, noFlux, ns, "plain", krtv1.WorkflowRepositorySpec{URL: g.URL, Ref: &krtv1.GitRef{Branch: "main"}})
	waitRevisionIn(t, noFlux.Client, plain, strings.TrimSpace(g.clone.Run("rev-parse", "HEAD")))
	if err := noFlux.Client.Get(t.Context(), client.ObjectKey{Namespace: ns, Name: "a"}, &krtv1.Workflow{}); err != nil {
		t.Fatalf("the git repository's workflow was not applied: %v", err)
	}

	viaFlux := newRepository(t, noFlux, ns, "via-flux", krtv1.WorkflowRepositorySpec{
		SourceRef: &krtv1.SourceReference{Kind: sourcev1.GitRepositoryKind, Name: "flows"},
	})
	waitConditionIn(t, noFlux.Client, viaFlux, krtv1.ConditionStalled, metav1.ConditionTrue,
		"spec.sourceRef names a Flux GitRepository, but krt-controller reads no Flux sources: Flux's CRDs were not installed")
	waitConditionIn(t, noFlux.Client, viaFlux, krtv1.ConditionReady, metav1.ConditionFalse, "install Flux and restart krt-controller")
}

// apiServerWithoutFlux starts an API server with krt's CRDs and removes
// Flux's, waiting until discovery no longer lists them.
func apiServerWithoutFlux(t *testing.T) *kubetest.Env {
	t.Helper()
	e, err := kubetest.Start()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if races := e.RaceReports(); races != "" {
			t.Errorf("the race detector reported in a krt process:\n%s", races)
		}
		e.Stop()
	})
	for _, kind := range []string{"gitrepositories", "externalartifacts"} {
		crd := &unstructured.Unstructured{}
		crd.SetAPIVersion("apiextensions.k8s.io/v1")
		crd.SetKind("CustomResourceDefinition")
		crd.SetName(kind + "." + sourcev1.GroupVersion.Group)
		if err := e.Client.Delete(t.Context(), crd); err != nil {
			t.Fatal(err)
		}
	}
	disco, err := discovery.NewDiscoveryClientForConfig(e.Config)
	if err != nil {
		t.Fatal(err)
	}
	// A CRD is gone from discovery once its cleanup finalizer has run,
	// which takes longer than 30s on a loaded 2-core CI machine.
	eventually(t, 2*time.Minute, "Flux's kinds gone from discovery", func() (bool, string) {
		_, err := disco.ServerResourcesForGroupVersion(sourcev1.GroupVersion.String())
		return apierrors.IsNotFound(err), "still served; " + crdState(t, e, sourcev1.GroupVersion.Group)
	})
	return e
}

// crdState says which of a group's CRDs still exist, with their
// finalizers and conditions, for a test that waits for them to go.
func crdState(t *testing.T, e *kubetest.Env, group string) string {
	list := &unstructured.UnstructuredList{}
	list.SetAPIVersion("apiextensions.k8s.io/v1")
	list.SetKind("CustomResourceDefinitionList")
	if err := e.Client.List(t.Context(), list); err != nil {
		return "listing CRDs: " + err.Error()
	}
	var left []string
	for _, crd := range list.Items {
		if g, _, _ := unstructured.NestedString(crd.Object, "spec", "group"); g != group {
			continue
		}
		conds, _, _ := unstructured.NestedSlice(crd.Object, "status", "conditions")
		left = append(left, fmt.Sprintf("%s (finalizers %v, conditions %v)", crd.GetName(), crd.GetFinalizers(), conds))
	}
	if len(left) == 0 {
		return "no CRD of the group is left"
	}
	return "CRDs left: " + strings.Join(left, "; ")
}

// startController runs krt-controller against e until the test ends; its
// log is shown if the test fails.
func startController(t *testing.T, e *kubetest.Env, args ...string) {
	t.Helper()
	base := []string{"--kubeconfig", e.Kubeconfig, "--metrics-bind-address", "0", "--health-probe-bind-address", "0",
		"--webhook-bind-address", "", "--git-cache-dir", filepath.Join(e.Dir, "git-cache"), "--min-interval", "1s"}
	p, err := kubetest.StartProcess(e.Dir, "krt-controller", bins.Controller, append(base, args...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		p.Stop()
		if t.Failed() {
			t.Logf("krt-controller's log:\n%s", p.Tail(30))
		}
	})
}

// newRepository creates a WorkflowRepository in e, polled every second.
func newRepository(t *testing.T, e *kubetest.Env, ns, name string, spec krtv1.WorkflowRepositorySpec) *krtv1.WorkflowRepository {
	t.Helper()
	spec.Interval = metav1.Duration{Duration: time.Second}
	repo := &krtv1.WorkflowRepository{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns}, Spec: spec}
	if err := e.Client.Create(t.Context(), repo); err != nil {
		t.Fatal(err)
	}
	return repo
}
