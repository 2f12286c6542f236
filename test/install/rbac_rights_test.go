package install

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"

	authorizationv1 "k8s.io/api/authorization/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"krt.dev/krt/test/kubetest"
)

// access is one row of the rights matrix: a verb on a resource (group,
// resource, subresource), in a namespace ("" is every namespace), on one
// object by name or on any.
type access struct{ verb, group, resource, ns, name string }

func (a access) String() string {
	where := "in " + a.ns
	if a.ns == "" {
		where = "cluster-wide"
	}
	what := a.resource
	if a.group != "" {
		what += "." + a.group
	}
	if a.name != "" {
		what += "/" + a.name
	}
	return fmt.Sprintf("%s %s %s", a.verb, what, where)
}

// The tenant namespace of the rows; each test swaps in a real one.
const tenant = "TENANT"

// can lists verbs on resources of one group, in the tenant namespace.
func can(verbs, group string, resources ...string) []access {
	var out []access
	for _, r := range resources {
		for _, v := range strings.Split(verbs, ",") {
			out = append(out, access{verb: v, group: group, resource: r, ns: tenant})
		}
	}
	return out
}

func join(lists ...[]access) []access { return slices.Concat(lists...) }

var (
	events = can("create,patch", "", "events")
	secret = can("get", "", "secrets")
	// needs is what each controller needs, and so all it may do. The
	// matrix checks every row of every controller against each one.
	needs = map[string][]access{
		"source": join(
			can("get,list,watch,patch", "krt.dev", "workflowrepositories"),
			can("get,update,patch", "krt.dev", "workflowrepositories/status"),
			can("get,list,watch,create,patch,delete", "krt.dev", "workflows", "tools"),
			can("get,list,watch", "source.toolkit.fluxcd.io", "gitrepositories", "externalartifacts"),
			secret, events),
		"trigger": join(
			can("get,list,watch", "krt.dev", "workflows", "workflowrepositories", "tools"),
			can("get,update,patch", "krt.dev", "workflows/status"),
			// The handled record of PR-head runs.
			can("get,patch", "krt.dev", "workflowrepositories/status"),
			// delete: run retention.
			can("get,list,watch,create,patch,delete", "krt.dev", "workflowruns"),
			secret, events),
		"workflow": join(
			can("get,list,watch,patch", "krt.dev", "workflowruns"),
			can("get,update,patch", "krt.dev", "workflowruns/status"),
			can("get,list,watch,create,patch", "krt.dev", "runs"),
			can("get,list,watch", "krt.dev", "approvals", "clusters", "runtimes", "workflows", "workflowrepositories"),
			// A namespace's default runtime (krt.dev/default-runtime): its
			// own Namespace object, which RBAC sees as in that namespace.
			[]access{{verb: "get", resource: "namespaces", ns: tenant, name: tenant}},
			events),
		"cluster": join(
			can("get,list,watch", "krt.dev", "clusters"),
			can("get,update,patch", "krt.dev", "clusters/status"),
			secret),
		"scheduler": join(
			can("get,list,watch", "krt.dev", "runs", "runtimes"),
			can("update", "krt.dev", "runs/status"),
			can("get,list,watch", "", "pods"),
			can("get,list,watch", "coordination.k8s.io", "leases")),
		"reaper": join(
			can("get,list,watch", "krt.dev", "runs"),
			can("update", "krt.dev", "runs/status"),
			can("get,list,watch", "", "pods"),
			can("get,list,watch", "coordination.k8s.io", "leases"),
			events),
		"ttl": can("get,list,watch,delete", "krt.dev", "runs"),
		"maintainer": join(
			can("get,list,watch", "krt.dev", "artifactstores"),
			can("get,update,patch", "krt.dev", "artifactstores/status"),
			// Whether a WorkflowRun is gone, one name at a time.
			can("get", "krt.dev", "workflowruns"),
			secret),
		"runtime": join(
			can("get,list,watch", "krt.dev", "runtimes", "runs"),
			can("get,update,patch", "krt.dev", "runtimes/status"),
			// A filesystem store's claim is mounted, an S3 store's Secret
			// granted by name in the Runtime's Role.
			can("get,list,watch", "krt.dev", "artifactstores"),
			// delete: spent ephemeral pods; patch: the draining mark and
			// deletion cost of a shrinking pool; runtime pods only, by
			// admission (TestControllerDeletesOnlyRuntimePods).
			can("get,list,watch,patch,delete", "", "pods"),
			can("get,list,watch", "coordination.k8s.io", "leases"),
			can("get,list,watch,create,update", "apps", "deployments"),
			can("get,list,watch,create,update", "", "serviceaccounts"),
			can("get,list,watch,create,update", "rbac.authorization.k8s.io", "roles", "rolebindings"),
			can("get,list,watch,create,update", "networking.k8s.io", "networkpolicies"),
			secret,
			// The one ClusterRole it may grant. (And EndpointSlices, in
			// default only: the test checks that apart.)
			[]access{{verb: "bind", group: "rbac.authorization.k8s.io", resource: "clusterroles", ns: tenant, name: "krt-runtimed"}}),
	}
	// never is what no controller may do, and so neither may the account
	// that holds them all.
	never = join(
		// Secrets one at a time, by name; never all of them.
		can("list,watch,create,update,patch,delete", "", "secrets"),
		[]access{{verb: "list", resource: "secrets"}, {verb: "watch", resource: "secrets"}},
		// No way to more rights than it holds.
		can("escalate,bind", "rbac.authorization.k8s.io", "roles", "clusterroles"),
		[]access{
			{verb: "bind", group: "rbac.authorization.k8s.io", resource: "clusterroles", name: "cluster-admin"},
			{verb: "bind", group: "rbac.authorization.k8s.io", resource: "clusterroles", ns: tenant, name: "admin"},
			{verb: "escalate", group: "rbac.authorization.k8s.io", resource: "clusterroles", name: "krt-runtimed"},
			{verb: "create", group: "rbac.authorization.k8s.io", resource: "clusterroles"},
			{verb: "update", group: "rbac.authorization.k8s.io", resource: "clusterroles", name: "krt-runtimed"},
			{verb: "create", group: "rbac.authorization.k8s.io", resource: "clusterrolebindings"},
			{verb: "impersonate", resource: "users"},
			{verb: "impersonate", resource: "serviceaccounts", ns: tenant},
			{verb: "create", resource: "namespaces"},
			{verb: "update", group: "apiextensions.k8s.io", resource: "customresourcedefinitions"},
			{verb: "update", group: "admissionregistration.k8s.io", resource: "validatingadmissionpolicies"},
			{verb: "delete", group: "admissionregistration.k8s.io", resource: "validatingadmissionpolicybindings"},
			{verb: "create", group: "admissionregistration.k8s.io", resource: "mutatingwebhookconfigurations"},
		},
		// Pods only through the Deployments it makes, and no tokens.
		can("create", "", "pods"),
		can("create,delete", "", "pods/exec", "pods/ephemeralcontainers", "serviceaccounts/token"),
		// What a Runtime owns, the garbage collector deletes.
		can("delete,patch", "apps", "deployments"),
		can("delete,patch", "rbac.authorization.k8s.io", "roles", "rolebindings"),
		can("delete", "", "serviceaccounts"),
		// runtimed's Leases, a tenant's specs and approvals are theirs.
		can("create,update,patch,delete", "coordination.k8s.io", "leases"),
		can("create,update,patch,delete", "krt.dev", "runtimes", "clusters", "approvals"),
		can("create,update,delete", "krt.dev", "workflowrepositories"),
		// A pool's size is the tenant's (or its autoscaling's bounds'):
		// krt sets the Deployment's, never the Runtime's.
		can("update,patch", "krt.dev", "runtimes/scale"),
		// Runs are deleted only by the trigger's retention.
		can("update", "krt.dev", "workflowruns"),
		can("update", "krt.dev", "runs", "workflows", "tools"),
		can("get", "", "configmaps"),
		// EndpointSlices are read in default alone.
		can("get,list", "discovery.k8s.io", "endpointslices"),
	)
)

// rows is every row any controller needs, each once.
func rows() []access {
	var out []access
	for _, c := range knownControllersSorted() {
		for _, a := range needs[c] {
			if !slices.Contains(out, a) {
				out = append(out, a)
			}
		}
	}
	return out
}

func knownControllersSorted() []string {
	var out []string
	for c := range needs {
		out = append(out, c)
	}
	slices.Sort(out)
	return out
}

// identity is a ServiceAccount's name and groups, as the API server
// authenticates it.
type identity struct {
	user   string
	groups []string
}

func serviceAccountIdentity(ns, name string) identity {
	return identity{"system:serviceaccount:" + ns + ":" + name,
		[]string{"system:serviceaccounts", "system:serviceaccounts:" + ns, "system:authenticated"}}
}

// as is a client that impersonates id, from the admin's config.
func as(t *testing.T, env *kubetest.Env, id identity) client.Client {
	t.Helper()
	cfg := rest.CopyConfig(env.Config)
	cfg.Impersonate = rest.ImpersonationConfig{UserName: id.user, Groups: id.groups}
	c, err := client.New(cfg, client.Options{Scheme: env.Scheme})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// in puts a row in namespace ns, if it is the tenant's.
func (a access) in(ns string) access {
	if a.ns == tenant {
		a.ns = ns
	}
	if a.name == tenant {
		a.name = ns
	}
	return a
}

// allowed asks the API server, as the impersonated identity, whether it
// may do a.
func allowed(t *testing.T, c client.Client, a access) bool {
	t.Helper()
	resource, sub, _ := strings.Cut(a.resource, "/")
	review := &authorizationv1.SelfSubjectAccessReview{Spec: authorizationv1.SelfSubjectAccessReviewSpec{
		ResourceAttributes: &authorizationv1.ResourceAttributes{Namespace: a.ns, Verb: a.verb, Group: a.group,
			Resource: resource, Subresource: sub, Name: a.name},
	}}
	if err := c.Create(context.Background(), review); err != nil {
		t.Fatalf("asking about %s: %v", a, err)
	}
	return review.Status.Allowed
}

// bindAlone binds one controller's roles, as the install does, to an
// account of its own, and returns that account's identity.
func bindAlone(t *testing.T, env *kubetest.Env, controller string) identity {
	t.Helper()
	const ns = "krt-rights"
	id := serviceAccountIdentity(ns, controller)
	subjects := []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Name: controller, Namespace: ns}}
	found := false
	for _, r := range generatedRoles(t) {
		if r.GetName() != "krt-controller-"+controller {
			continue
		}
		found = true
		ref := rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: r.GetKind(), Name: r.GetName()}
		meta := metav1.ObjectMeta{Name: "krt-rights-" + controller, Namespace: r.GetNamespace()}
		var b client.Object = &rbacv1.RoleBinding{ObjectMeta: meta, RoleRef: ref, Subjects: subjects}
		if r.GetKind() == "ClusterRole" {
			b = &rbacv1.ClusterRoleBinding{ObjectMeta: meta, RoleRef: ref, Subjects: subjects}
		}
		if err := env.Client.Create(context.Background(), b); client.IgnoreAlreadyExists(err) != nil {
			t.Fatal(err)
		}
	}
	if !found {
		t.Fatalf("config/rbac has no role krt-controller-%s", controller)
	}
	return id
}

// installed is the kustomize install, on its own API server.
func installed(t *testing.T) *kubetest.Env {
	t.Helper()
	env := cluster(t, "kustomize")
	apply(t, env.Client, kustomizeBuild(t))
	return env
}

// Each controller's role, bound alone, allows exactly what that
// controller needs of everything any controller needs, and none of what
// no controller may do. Each row is asked by the controller's own
// identity (SelfSubjectAccessReview, impersonated).
func TestEachControllerHasOnlyItsRights(t *testing.T) {
	env := installed(t)
	ns := env.Namespace(t)
	all := rows()
	for _, c := range knownControllersSorted() {
		t.Run(c, func(t *testing.T) {
			cl := as(t, env, bindAlone(t, env, c))
			for _, a := range append(slices.Clone(all), never...) {
				want := slices.Contains(needs[c], a)
				if got := allowed(t, cl, a.in(ns)); got != want {
					t.Errorf("%s: allowed %v, want %v", a.in(ns), got, want)
				}
			}
			// EndpointSlices: in default, only the runtime controller.
			es := access{verb: "list", group: "discovery.k8s.io", resource: "endpointslices", ns: "default"}
			if got := allowed(t, cl, es); got != (c == "runtime") {
				t.Errorf("%s: allowed %v, want %v", es, got, c == "runtime")
			}
		})
	}
	// The check is only as good as the lists: every controller has rows,
	// and nothing is both needed and never allowed.
	if known := knownControllers(t); len(known) != len(needs) {
		t.Errorf("krt-controller knows %v; the matrix has rows for %v", known, knownControllersSorted())
	}
	for _, a := range never {
		if slices.Contains(all, a) {
			t.Errorf("%s is both needed and never allowed", a)
		}
	}
}

// The installed ServiceAccount, with every controller's role, may do what
// they need between them and leader election in krt-system, and nothing
// that no controller may do.
func TestControllerAccountRights(t *testing.T) {
	env := installed(t)
	ns := env.Namespace(t)
	sa := as(t, env, serviceAccountIdentity("krt-system", "krt-controller"))
	for _, a := range rows() {
		if !allowed(t, sa, a.in(ns)) {
			t.Errorf("%s: refused", a.in(ns))
		}
	}
	for _, a := range never {
		if allowed(t, sa, a.in(ns)) {
			t.Errorf("%s: allowed", a.in(ns))
		}
	}
	lease := access{verb: "update", group: "coordination.k8s.io", resource: "leases", ns: "krt-system", name: "krt-controller.krt.dev"}
	if !allowed(t, sa, lease) {
		t.Errorf("%s: refused", lease)
	}
}
