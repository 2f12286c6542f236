package install

import (
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// generatedRoles are config/rbac's roles, as make generate wrote them.
func generatedRoles(t *testing.T) []*unstructured.Unstructured {
	t.Helper()
	roles, err := decodeFiles(filepath.Join(root, "config", "rbac", "*.yaml"))
	if err != nil || len(roles) == 0 {
		t.Fatalf("config/rbac: %v (%d objects)", err, len(roles))
	}
	return roles
}

// The chart's roles are config/rbac's, rule for rule, and every
// controller krt-controller knows has one.
func TestChartRolesAreGenerated(t *testing.T) {
	chart := index(render(t))
	var controllers []string
	for _, r := range generatedRoles(t) {
		key := r.GetKind() + " " + r.GetNamespace() + "/" + r.GetName()
		c, ok := chart[key]
		if !ok {
			t.Errorf("config/rbac's %s is not in the chart", key)
			continue
		}
		if got, want := c.Object["rules"], r.Object["rules"]; !reflect.DeepEqual(got, want) {
			t.Errorf("the chart's %s rules differ from config/rbac's:\n got %v\nwant %v", key, got, want)
		}
		if name, ok := strings.CutPrefix(r.GetName(), "krt-controller-"); ok && r.GetKind() == "ClusterRole" {
			controllers = append(controllers, name)
		}
	}
	known := knownControllers(t)
	slices.Sort(known)
	slices.Sort(controllers)
	if !slices.Equal(known, controllers) {
		t.Errorf("krt-controller knows %v; config/rbac has ClusterRoles for %v", known, controllers)
	}
}

// bindings returns, for each role the chart binds to the controller's
// ServiceAccount, where: "cluster-wide" or the RoleBindings' namespaces.
func bindings(t *testing.T, objs []*unstructured.Unstructured) map[string][]string {
	t.Helper()
	out := map[string][]string{}
	for _, o := range objs {
		if o.GetKind() != "ClusterRoleBinding" && o.GetKind() != "RoleBinding" {
			continue
		}
		subjects, _, _ := unstructured.NestedSlice(o.Object, "subjects")
		if len(subjects) != 1 || subjects[0].(map[string]any)["name"] != "krt-controller" {
			t.Errorf("%s binds %v, want only the ServiceAccount krt-controller", describe(o), subjects)
		}
		kind, _, _ := unstructured.NestedString(o.Object, "roleRef", "kind")
		name, _, _ := unstructured.NestedString(o.Object, "roleRef", "name")
		where := "cluster-wide"
		if o.GetKind() == "RoleBinding" {
			where = o.GetNamespace()
		}
		out[kind+" "+name] = append(out[kind+" "+name], where)
	}
	return out
}

// Each plane binds only its own controllers' roles; with watchNamespaces
// every ClusterRole is bound in those namespaces only.
func TestChartBindsOnlyItsControllers(t *testing.T) {
	lead := []string{"krt-system"} // leader election, always in the release's namespace
	for _, tc := range []struct {
		name        string
		sets        []string
		controllers []string
		where       []string // where each controller's ClusterRole is bound
		watch       string   // --watch-namespaces
	}{
		{"both planes", nil, append(slices.Clone(controlPlane), runtimePlane...), []string{"cluster-wide"}, ""},
		{"control plane", []string{"runtimePlane.enabled=false"}, controlPlane, []string{"cluster-wide"}, ""},
		{"runtime plane", []string{"controlPlane.enabled=false"}, runtimePlane, []string{"cluster-wide"}, ""},
		{"both planes in two namespaces", []string{"watchNamespaces={team-a,team-b}"},
			append(slices.Clone(controlPlane), runtimePlane...), []string{"team-a", "team-b"}, "team-a,team-b"},
		{"runtime plane in one namespace", []string{"controlPlane.enabled=false", "watchNamespaces={team-a}"},
			runtimePlane, []string{"team-a"}, "team-a"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			objs := render(t, tc.sets...)
			want := map[string][]string{"Role krt-controller-leader-election": lead}
			for _, c := range tc.controllers {
				want["ClusterRole krt-controller-"+c] = tc.where
			}
			runtime := slices.Contains(tc.controllers, "runtime")
			if runtime {
				want["Role krt-controller-runtime"] = []string{"default"}
			}
			if got := bindings(t, objs); !reflect.DeepEqual(got, want) {
				t.Errorf("bound roles:\n got %v\nwant %v", got, want)
			}
			// No role is rendered that is not bound, but runtimed's.
			hasRuntimed := false
			for _, o := range objs {
				switch {
				case o.GetKind() == "ClusterRole" && o.GetName() == "krt-runtimed":
					hasRuntimed = true
				case o.GetKind() == "ClusterRole" || o.GetKind() == "Role":
					if _, ok := want[o.GetKind()+" "+o.GetName()]; !ok {
						t.Errorf("%s is rendered but not bound", describe(o))
					}
				}
			}
			if hasRuntimed != runtime {
				t.Errorf("ClusterRole krt-runtimed rendered: %v, want %v", hasRuntimed, runtime)
			}
			args := managerArgs(t, objs)
			if got, _ := flagValue(args, "--watch-namespaces"); got != tc.watch {
				t.Errorf("--watch-namespaces=%q, want %q", got, tc.watch)
			}
		})
	}
}

// A release named other names its roles after itself, and the runtime
// controller's bind right and --runtimed-cluster-role name its own
// runtimed ClusterRole, not another release's.
func TestChartRuntimedRoleFollowsTheRelease(t *testing.T) {
	out, err := helm(t, "template", "other", "charts/krt", "--namespace", "krt-other")
	if err != nil {
		t.Fatalf("helm template: %v\n%s", err, out)
	}
	objs, err := decode([]byte(out))
	if err != nil {
		t.Fatal(err)
	}
	find(t, objs, "ClusterRole", "other-krt-runtimed")
	role := find(t, objs, "ClusterRole", "other-krt-controller-runtime")
	rules, _, _ := unstructured.NestedSlice(role.Object, "rules")
	var bind []any
	for _, r := range rules {
		if verbs := r.(map[string]any)["verbs"].([]any); slices.Contains(verbs, any("bind")) {
			bind = append(bind, r.(map[string]any)["resourceNames"])
		}
	}
	if want := []any{[]any{"other-krt-runtimed"}}; !reflect.DeepEqual(bind, want) {
		t.Errorf("the bind rules name %v, want %v", bind, want)
	}
	dep := deployment(t, find(t, objs, "Deployment", "other-krt-controller"))
	if got, _ := flagValue(dep.Spec.Template.Spec.Containers[0].Args, "--runtimed-cluster-role"); got != "other-krt-runtimed" {
		t.Errorf("--runtimed-cluster-role=%s, want other-krt-runtimed", got)
	}
}
