package e2e

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"strings"
	"testing"

	authenticationv1 "k8s.io/api/authentication/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/kubernetes"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/apiutil"

	krtv1 "krt.dev/krt/api/v1alpha1"
)

// The README: "`kubectl get krt` lists every krt object". One object of
// each kind that the API server serves in krt.dev, and the real kubectl
// must list them all. The kinds come from the API server, so a new kind
// fails here until it has an object below and the `krt` category.
func TestKubectlGetKrtListsEveryKind(t *testing.T) {
	ns := env.Namespace(t)
	objs := oneOfEachKind(t, ns)
	have := map[string]bool{}
	for _, o := range objs {
		have[kindOf(t, o)] = true
	}
	for _, kind := range servedKinds(t) {
		if !have[kind] {
			t.Fatalf("the API server serves krt.dev kind %s, and this test has no object of it: add one", kind)
		}
	}
	for _, o := range objs {
		if err := env.Client.Create(context.Background(), o); err != nil {
			t.Fatalf("creating %T %s: %v", o, o.GetName(), err)
		}
	}

	out, err := runKubectl(t, "get", "krt", "-n", ns)
	if err != nil {
		t.Fatalf("kubectl get krt -n %s: %v:\n%s", ns, err, out)
	}
	for _, o := range objs {
		if want := strings.ToLower(kindOf(t, o)) + ".krt.dev/" + o.GetName(); !strings.Contains(out, want) {
			t.Errorf("kubectl get krt does not list %s:\n%s", want, out)
		}
	}
}

// runKubectl runs the real kubectl against this package's API server.
// Its discovery cache is the test's own: kubectl keeps one per host:port
// for six hours under ~/.kube/cache, and an earlier API server on the
// same loopback port, with other CRDs, left one that hid a kind from
// `kubectl get krt`.
func runKubectl(t *testing.T, args ...string) (string, error) {
	t.Helper()
	cmd := exec.Command(kubectlPath(t), append([]string{"--cache-dir", t.TempDir()}, args...)...)
	cmd.Env = append(os.Environ(), "KUBECONFIG="+env.Kubeconfig)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	return out.String(), err
}

// kubectlPath is the real kubectl; there is no fallback, so a machine
// without it fails here, naming it.
func kubectlPath(t *testing.T) string {
	t.Helper()
	path, err := exec.LookPath("kubectl")
	if err != nil {
		t.Fatalf("kubectl is not installed (%v): the README's `kubectl get krt` needs it; `make test-deps` installs it", err)
	}
	return path
}

// servedKinds are the kinds of krt.dev's resources, as discovery has them.
func servedKinds(t *testing.T) []string {
	t.Helper()
	dc, err := discovery.NewDiscoveryClientForConfig(env.Config)
	if err != nil {
		t.Fatal(err)
	}
	list, err := dc.ServerResourcesForGroupVersion(krtv1.GroupVersion.String())
	if err != nil {
		t.Fatal(err)
	}
	var kinds []string
	for _, r := range list.APIResources {
		if !strings.Contains(r.Name, "/") { // not a subresource
			kinds = append(kinds, r.Kind)
		}
	}
	return kinds
}

func kindOf(t *testing.T, o client.Object) string {
	t.Helper()
	gvk, err := apiutil.GVKForObject(o, env.Scheme)
	if err != nil {
		t.Fatal(err)
	}
	return gvk.Kind
}

// oneOfEachKind is a small valid object of each krt kind. None needs to
// work: a Runtime without pods, a suspended repository, a Cluster whose
// Secret does not exist. The Approval names the caller, as the API
// server's admission policy requires.
func oneOfEachKind(t *testing.T, ns string) []client.Object {
	t.Helper()
	cs, err := kubernetes.NewForConfig(env.Config)
	if err != nil {
		t.Fatal(err)
	}
	me, err := cs.AuthenticationV1().SelfSubjectReviews().Create(context.Background(), &authenticationv1.SelfSubjectReview{}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	meta := func(name string) metav1.ObjectMeta { return metav1.ObjectMeta{Namespace: ns, Name: name} }
	wf := krtv1.WorkflowSpec{On: krtv1.Triggers{Manual: &krtv1.ManualTrigger{}},
		Steps: []krtv1.Step{{Name: "only", Runtime: "idle", Run: "true"}}}
	return []client.Object{
		&krtv1.Runtime{ObjectMeta: meta("idle"), Spec: krtv1.RuntimeSpec{Replicas: ptr.To[int32](0), Capacity: 1}},
		&krtv1.Run{ObjectMeta: meta("a-run"), Spec: krtv1.RunSpec{Runtime: "idle", Script: "true"}},
		&krtv1.Tool{ObjectMeta: meta("a-tool"), Spec: krtv1.ToolSpec{Script: "true"}},
		&krtv1.Workflow{ObjectMeta: meta("a-workflow"), Spec: wf},
		&krtv1.WorkflowRun{ObjectMeta: meta("a-workflowrun"), Spec: krtv1.WorkflowRunSpec{Workflow: "a-workflow",
			Event: krtv1.WorkflowEvent{Type: "manual", Manual: &krtv1.ManualEvent{User: me.Status.UserInfo.Username}}, Definition: wf}},
		&krtv1.WorkflowRepository{ObjectMeta: meta("a-repository"), Spec: krtv1.WorkflowRepositorySpec{URL: "http://127.0.0.1:9/none.git", Suspend: true}},
		&krtv1.Cluster{ObjectMeta: meta("a-cluster"), Spec: krtv1.ClusterSpec{KubeconfigSecretRef: krtv1.SecretKeySelector{Name: "none", Key: "kubeconfig"}}},
		&krtv1.ArtifactStore{ObjectMeta: meta("a-store"), Spec: krtv1.ArtifactStoreSpec{Filesystem: &krtv1.FilesystemStore{Path: "/nowhere"}}},
		&krtv1.Approval{ObjectMeta: meta("an-approval"), Spec: krtv1.ApprovalSpec{WorkflowRun: "a-workflowrun", WorkflowRunUID: "a-workflowrun-uid", Step: "only",
			Decision: "approve", User: me.Status.UserInfo.Username}},
	}
}
