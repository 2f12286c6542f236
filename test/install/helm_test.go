package install

import (
	"bytes"
	"context"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// The two planes, as the chart names them in --controllers.
var (
	controlPlane = []string{"source", "trigger", "workflow", "cluster"}
	runtimePlane = []string{"scheduler", "reaper", "ttl", "runtime", "maintainer"}
)

// helm runs bin/helm, which `make tools` builds (make test does so
// first). Without it the chart is not tested, so the test fails, naming
// the missing tool and how to get it, rather than skip.
func helm(t *testing.T, args ...string) (string, error) {
	t.Helper()
	bin := filepath.Join(root, "bin", "helm")
	if _, err := os.Stat(bin); err != nil {
		t.Fatalf("bin/helm is missing: run `make tools` to build it (%v)", err)
	}
	cmd := exec.Command(bin, args...)
	cmd.Dir = root
	// A discovery cache of the test's own; ~/.kube/cache keeps one per
	// host:port, maybe from an earlier API server with other CRDs.
	cmd.Env = append(os.Environ(), "KUBECACHEDIR="+t.TempDir())
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	if err != nil {
		return stdout.String() + stderr.String(), err
	}
	return stdout.String(), nil
}

// render is `helm template krt charts/krt -n krt-system --include-crds`
// with the given --set values: what `helm install` would create.
func render(t *testing.T, sets ...string) []*unstructured.Unstructured {
	t.Helper()
	args := []string{"template", "krt", "charts/krt", "--namespace", "krt-system", "--include-crds"}
	for _, s := range sets {
		args = append(args, "--set", s)
	}
	out, err := helm(t, args...)
	if err != nil {
		t.Fatalf("helm %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	objs, err := decode([]byte(out))
	if err != nil {
		t.Fatalf("helm template's output: %v", err)
	}
	return objs
}

func TestHelmLint(t *testing.T) {
	if out, err := helm(t, "lint", "--strict", "charts/krt"); err != nil {
		t.Fatalf("helm lint --strict: %v\n%s", err, out)
	}
}

// managerArgs returns the controller container's arguments.
func managerArgs(t *testing.T, objs []*unstructured.Unstructured) []string {
	t.Helper()
	dep := deployment(t, find(t, objs, "Deployment", "krt-controller"))
	return dep.Spec.Template.Spec.Containers[0].Args
}

func flagValue(args []string, name string) (string, bool) {
	for _, a := range args {
		if v, ok := strings.CutPrefix(a, name+"="); ok {
			return v, true
		}
	}
	return "", false
}

func TestHelmPlanesSetControllers(t *testing.T) {
	for _, tc := range []struct {
		name        string
		sets        []string
		controllers string
		webhook     bool
	}{
		{"both planes by default", nil, "*", true},
		{"control plane only", []string{"runtimePlane.enabled=false"}, strings.Join(controlPlane, ","), true},
		{"runtime plane only", []string{"controlPlane.enabled=false"}, strings.Join(runtimePlane, ","), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			objs := render(t, tc.sets...)
			args := managerArgs(t, objs)
			if got, _ := flagValue(args, "--controllers"); got != tc.controllers {
				t.Errorf("--controllers=%s, want %s (args %q)", got, tc.controllers, args)
			}
			// Only the control plane runs the webhook receiver.
			_, listens := flagValue(args, "--webhook-bind-address")
			hasService := slices.ContainsFunc(objs, func(o *unstructured.Unstructured) bool {
				return o.GetKind() == "Service" && o.GetName() == "krt-webhook"
			})
			if listens != tc.webhook || hasService != tc.webhook {
				t.Errorf("webhook receiver flag %v and Service %v, want %v", listens, hasService, tc.webhook)
			}
		})
	}
	t.Run("neither plane is refused", func(t *testing.T) {
		out, err := helm(t, "template", "krt", "charts/krt", "--set", "controlPlane.enabled=false", "--set", "runtimePlane.enabled=false")
		if err == nil || !strings.Contains(out, "would run no controller") {
			t.Errorf("helm template with both planes off: err %v, output:\n%s", err, out)
		}
	})
}

// Every controller krt-controller knows is in exactly one plane, so a
// split install runs all of them between its two releases.
func TestPlanesCoverEveryController(t *testing.T) {
	known := knownControllers(t)
	planes := append(slices.Clone(controlPlane), runtimePlane...)
	slices.Sort(known)
	slices.Sort(planes)
	if !slices.Equal(known, planes) {
		t.Errorf("krt-controller knows %v; the chart's planes name %v", known, planes)
	}
}

// knownControllers reads allControllers from cmd/krt-controller/main.go.
func knownControllers(t *testing.T) []string {
	t.Helper()
	f, err := parser.ParseFile(token.NewFileSet(), filepath.Join(root, "cmd", "krt-controller", "main.go"), nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	ast.Inspect(f, func(n ast.Node) bool {
		spec, ok := n.(*ast.ValueSpec)
		if !ok || len(spec.Names) != 1 || spec.Names[0].Name != "allControllers" {
			return true
		}
		for _, elt := range spec.Values[0].(*ast.CompositeLit).Elts {
			s, err := strconv.Unquote(elt.(*ast.BasicLit).Value)
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, s)
		}
		return false
	})
	if len(out) == 0 {
		t.Fatal("no allControllers in cmd/krt-controller/main.go")
	}
	return out
}

// The chart's CRDs, roles, policies and alerts are config/'s: `make generate` copies them.
func TestChartCopiesConfig(t *testing.T) {
	for _, pair := range [][2]string{
		{"config/crd/bases/*.yaml", "charts/krt/crds"},
		{"config/policy/*.yaml", "charts/krt/files/policy"},
		{"config/rbac/*.yaml", "charts/krt/files/rbac"},
		{"config/monitoring/*.yaml", "charts/krt/files/monitoring"},
	} {
		files, _ := filepath.Glob(filepath.Join(root, pair[0]))
		copies, _ := filepath.Glob(filepath.Join(root, pair[1], "*.yaml"))
		if len(files) == 0 || len(files) != len(copies) {
			t.Errorf("%s has %d files, %s %d: run make generate", pair[0], len(files), pair[1], len(copies))
		}
		for _, f := range files {
			want, _ := os.ReadFile(f)
			copied, err := os.ReadFile(filepath.Join(root, pair[1], filepath.Base(f)))
			if err != nil || !bytes.Equal(copied, want) {
				t.Errorf("%s is not a copy of %s (%v): run make generate", filepath.Join(pair[1], filepath.Base(f)), f, err)
			}
		}
	}
}

// The default chart, CRDs included, installs on a real API server, and the
// controller it installs is admitted and can run there.
func TestHelmInstall(t *testing.T) {
	objs := render(t)
	env := cluster(t, "helm")
	// helm install --create-namespace makes the namespace; the README says
	// to label it, as config/default's own Namespace is.
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "krt-system", Labels: map[string]string{
		"pod-security.kubernetes.io/enforce": "restricted",
	}}}
	if err := env.Client.Create(context.Background(), ns); err != nil {
		t.Fatal(err)
	}
	apply(t, env.Client, objs)
	for _, crd := range crdNames(t) {
		find(t, objs, "CustomResourceDefinition", crd)
	}
	dep := deployment(t, find(t, objs, "Deployment", "krt-controller"))
	t.Run("the controller pod passes restricted PSS", func(t *testing.T) { checkRestricted(t, env, dep) })
	t.Run("leader election", func(t *testing.T) { checkLeaderElectionRBAC(t, env) })
	t.Run("krt-controller runs with the chart's flags", func(t *testing.T) { checkControllerRuns(t, env, dep) })
	// The planes apart, and other values, as a split or tuned install
	// renders them: a server-side dry run on top of the default install.
	for _, set := range []string{"controlPlane.enabled=false", "runtimePlane.enabled=false",
		"networkPolicy.enabled=false,policy.enabled=false,webhook.service.type=NodePort,replicas=2"} {
		t.Run(set, func(t *testing.T) {
			for _, o := range render(t, set) {
				if err := applyOne(env.Client, o, client.DryRunAll); err != nil {
					t.Errorf("applying %s: %v", describe(o), err)
				}
			}
		})
	}
}
