package install

import (
	"path/filepath"
	"reflect"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/kyaml/filesys"
)

// kustomizeBuild is `kustomize build config/default`, in process.
func kustomizeBuild(t *testing.T) []*unstructured.Unstructured {
	t.Helper()
	m, err := krusty.MakeKustomizer(krusty.MakeDefaultOptions()).Run(filesys.MakeFsOnDisk(), filepath.Join(root, "config", "default"))
	if err != nil {
		t.Fatalf("kustomize build config/default: %v", err)
	}
	data, err := m.AsYaml()
	if err != nil {
		t.Fatal(err)
	}
	objs, err := decode(data)
	if err != nil {
		t.Fatal(err)
	}
	return objs
}

// `kubectl apply --server-side -k config/default` installs all of
// config/ on a real API server, and the controller it installs is
// admitted in the namespace it comes with.
func TestKustomizeInstall(t *testing.T) {
	objs := kustomizeBuild(t)
	// The kustomizations list files by name; nothing config/ has is left out.
	for _, crd := range crdNames(t) {
		find(t, objs, "CustomResourceDefinition", crd)
	}
	policies, err := decodeFiles(filepath.Join(root, "config", "policy", "*.yaml"))
	if err != nil || len(policies) == 0 {
		t.Fatalf("config/policy: %v (%d objects)", err, len(policies))
	}
	for _, p := range policies {
		find(t, objs, p.GetKind(), p.GetName())
	}
	roles, err := decodeFiles(filepath.Join(root, "config", "rbac", "*.yaml"))
	if err != nil || len(roles) == 0 {
		t.Fatalf("config/rbac: %v (%d objects)", err, len(roles))
	}
	for _, r := range roles {
		find(t, objs, r.GetKind(), r.GetName())
	}
	dep := deployment(t, find(t, objs, "Deployment", "krt-controller"))
	if got, want := dep.Spec.Template.Spec.Containers[0].Image, "ghcr.io/krt-dev/krt-controller:v0.1.0"; got != want {
		t.Errorf("image %s, want %s", got, want)
	}
	if got, _ := flagValue(dep.Spec.Template.Spec.Containers[0].Args, "--controllers"); got != "*" {
		t.Errorf("--controllers=%s, want *", got)
	}

	env := cluster(t, "kustomize")
	apply(t, env.Client, objs)
	t.Run("the controller pod passes restricted PSS", func(t *testing.T) { checkRestricted(t, env, dep) })
	t.Run("leader election", func(t *testing.T) { checkLeaderElectionRBAC(t, env) })
}

// The chart with its defaults and config/default install the same objects
// with the same content; only labels differ, and the Namespace, which
// `helm install --create-namespace` makes. So what one test proves of
// either holds for both.
func TestKustomizeMatchesChart(t *testing.T) {
	chart := index(render(t))
	kust := index(kustomizeBuild(t))
	delete(kust, "Namespace /krt-system")
	for key, k := range kust {
		c, ok := chart[key]
		if !ok {
			t.Errorf("%s is in config/default, not in the chart", key)
			continue
		}
		if !reflect.DeepEqual(withoutLabels(c), withoutLabels(k)) {
			t.Errorf("%s differs:\nchart     %v\nkustomize %v", key, withoutLabels(c), withoutLabels(k))
		}
	}
	for key := range chart {
		if _, ok := kust[key]; !ok {
			t.Errorf("%s is in the chart, not in config/default", key)
		}
	}
}

func index(objs []*unstructured.Unstructured) map[string]*unstructured.Unstructured {
	out := map[string]*unstructured.Unstructured{}
	for _, o := range objs {
		out[o.GetKind()+" "+o.GetNamespace()+"/"+o.GetName()] = o
	}
	return out
}

func withoutLabels(o *unstructured.Unstructured) map[string]any {
	c := o.DeepCopy()
	c.SetLabels(nil)
	c.SetAnnotations(nil)
	unstructured.RemoveNestedField(c.Object, "spec", "template", "metadata", "labels")
	return c.Object
}
