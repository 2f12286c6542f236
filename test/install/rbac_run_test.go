package install

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	krtv1 "krt.dev/krt/api/v1alpha1"
	runtimectl "krt.dev/krt/controllers/runtime"
	"krt.dev/krt/test/kubetest"
)

// buildController builds krt-controller (without -race: its rights are
// what is under test; the other suites run it under the race detector).
func buildController(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "krt-controller")
	build := exec.Command("go", "build", "-o", bin, "./cmd/krt-controller")
	build.Dir = root
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// runAs starts krt-controller as id, with args, and no listener or leader
// election, which a test outside a pod has no use for.
func runAs(t *testing.T, env *kubetest.Env, bin string, id identity, args ...string) *kubetest.Process {
	t.Helper()
	kubeconfig, err := env.UserKubeconfig(id.user, id.groups...)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	args = append([]string{"--kubeconfig", kubeconfig, "--metrics-bind-address=0", "--health-probe-bind-address=0",
		"--webhook-bind-address=", "--git-cache-dir=" + filepath.Join(dir, "git")}, args...)
	p, err := kubetest.StartProcess(dir, "krt-controller", bin, args...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Stop)
	return p
}

// logLine is what the checks read of krt-controller's JSON log.
type logLine struct {
	Msg        string `json:"msg"`
	Controller string `json:"controller"`
	Error      string `json:"error"`
}

// waitWorkers waits until every controller the manager started has
// started its workers, which each does only once all its watches have
// listed: a watch that its role does not allow never gets there. want are
// controllers that must be among them. A refusal anywhere fails at once.
func waitWorkers(t *testing.T, p *kubetest.Process, want ...string) {
	t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for ; ; time.Sleep(200 * time.Millisecond) {
		data, _ := os.ReadFile(p.Log)
		if strings.Contains(string(data), "forbidden") {
			t.Fatalf("krt-controller was refused something:\n%s", p.Tail(30))
		}
		var starting, working []string
		for _, line := range strings.Split(string(data), "\n") {
			var l logLine
			if json.Unmarshal([]byte(line), &l) != nil {
				continue
			}
			switch l.Msg {
			case "Starting Controller":
				starting = append(starting, l.Controller)
			case "Starting workers":
				working = append(working, l.Controller)
			}
		}
		done := len(working) == len(starting)
		for _, c := range want {
			done = done && slices.Contains(working, c)
		}
		if done {
			return
		}
		if p.Exited() {
			t.Fatalf("krt-controller exited:\n%s", p.Tail(30))
		}
		if time.Now().After(deadline) {
			t.Fatalf("controllers %v started, %v have workers after 2 minutes, want %v:\n%s", starting, working, want, p.Tail(30))
		}
	}
}

// checkNoRefusal fails if krt-controller was refused anything so far.
func checkNoRefusal(t *testing.T, p *kubetest.Process) {
	t.Helper()
	if data, _ := os.ReadFile(p.Log); strings.Contains(string(data), "forbidden") {
		t.Errorf("krt-controller was refused something:\n%s", p.Tail(30))
	}
}

// Each controller runs with its own role alone: every watch it opens is
// allowed. The runtime controller, which writes RBAC, then makes all of a
// Runtime's objects without escalate.
func TestEachControllerRunsWithItsOwnRole(t *testing.T) {
	env := installed(t)
	bin := buildController(t)
	for _, c := range knownControllersSorted() {
		t.Run(c, func(t *testing.T) {
			p := runAs(t, env, bin, bindAlone(t, env, c), "--controllers="+c)
			waitWorkers(t, p, c)
			if c == "runtime" {
				checkRuntimeObjects(t, env, env.Namespace(t), p)
			}
			checkNoRefusal(t, p)
		})
	}
}

// newRuntime creates a Runtime that names a Secret and limits egress, so
// that its Role grants a Secret and its NetworkPolicy reads the API
// server's EndpointSlices.
func newRuntime(t *testing.T, env *kubetest.Env, ns string) *krtv1.Runtime {
	t.Helper()
	rt := &krtv1.Runtime{
		ObjectMeta: metav1.ObjectMeta{Name: "pool", Namespace: ns},
		Spec: krtv1.RuntimeSpec{Replicas: ptr.To[int32](1), Capacity: 1, Secrets: []string{"deploy-key"},
			Network: &krtv1.RuntimeNetwork{}},
	}
	if err := env.Client.Create(context.Background(), rt); err != nil {
		t.Fatal(err)
	}
	return rt
}

// checkRuntimeObjects creates a Runtime and waits for everything the
// runtime controller makes for it, with the RBAC as it should be.
func checkRuntimeObjects(t *testing.T, env *kubetest.Env, ns string, p *kubetest.Process) {
	t.Helper()
	ctx := context.Background()
	rt := newRuntime(t, env, ns)
	key := func(name string) client.ObjectKey { return client.ObjectKey{Namespace: ns, Name: name} }
	deadline := time.Now().Add(time.Minute)
	for ; ; time.Sleep(200 * time.Millisecond) {
		cur := &krtv1.Runtime{}
		if err := env.Client.Get(ctx, key(rt.Name), cur); err != nil {
			t.Fatal(err)
		}
		if c := meta.FindStatusCondition(cur.Status.Conditions, krtv1.ConditionReady); c != nil && c.Reason == runtimectl.ReasonApplyFailed {
			t.Fatalf("the Runtime's objects could not be written: %s\n%s", c.Message, p.Tail(20))
		}
		if cur.Status.ObservedGeneration == cur.Generation && meta.FindStatusCondition(cur.Status.Conditions, krtv1.ConditionReady) != nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the Runtime was not reconciled in a minute: %+v\n%s", cur.Status, p.Tail(20))
		}
	}
	for _, o := range []client.Object{&appsv1.Deployment{}, &corev1.ServiceAccount{}, &networkingv1.NetworkPolicy{}} {
		if err := env.Client.Get(ctx, key("krt-runtime-pool"), o); err != nil {
			t.Errorf("%T krt-runtime-pool: %v", o, err)
		}
	}
	role := &rbacv1.Role{}
	if err := env.Client.Get(ctx, key("krt-runtime-pool"), role); err != nil {
		t.Fatal(err)
	}
	want := []rbacv1.PolicyRule{{APIGroups: []string{""}, Resources: []string{"secrets"}, Verbs: []string{"get"}, ResourceNames: []string{"deploy-key"}}}
	if !slices.EqualFunc(role.Rules, want, func(a, b rbacv1.PolicyRule) bool { return a.String() == b.String() }) {
		t.Errorf("the Role's rules are %v, want %v", role.Rules, want)
	}
	for name, ref := range map[string]string{"krt-runtime-pool": "Role krt-runtime-pool", "krt-runtime-pool-runtimed": "ClusterRole krt-runtimed"} {
		b := &rbacv1.RoleBinding{}
		if err := env.Client.Get(ctx, key(name), b); err != nil {
			t.Errorf("RoleBinding %s: %v", name, err)
			continue
		}
		if got := b.RoleRef.Kind + " " + b.RoleRef.Name; got != ref {
			t.Errorf("RoleBinding %s binds %s, want %s", name, got, ref)
		}
	}
}

// With watchNamespaces, the chart binds each controller's role in those
// namespaces alone, and krt-controller, as its account, runs every
// controller there and never looks elsewhere.
func TestWatchNamespaces(t *testing.T) {
	env := cluster(t, "helm-watch")
	ctx := context.Background()
	for _, ns := range []string{"krt-system", "team-a", "team-b"} {
		if err := env.Client.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}); client.IgnoreAlreadyExists(err) != nil {
			t.Fatal(err)
		}
	}
	objs := render(t, "watchNamespaces={team-a}")
	apply(t, env.Client, objs)
	sa := as(t, env, serviceAccountIdentity("krt-system", "krt-controller"))
	for _, a := range rows() {
		if !allowed(t, sa, a.in("team-a")) {
			t.Errorf("%s: refused", a.in("team-a"))
		}
		if allowed(t, sa, a.in("team-b")) {
			t.Errorf("%s: allowed", a.in("team-b"))
		}
		if all := a.in(""); (a.verb == "list" || a.verb == "watch") && allowed(t, sa, all) {
			t.Errorf("%s: allowed", all)
		}
	}

	var args []string
	for _, a := range managerArgs(t, objs) {
		name, _, _ := strings.Cut(a, "=")
		if slices.Contains([]string{"--controllers", "--runtimed-image", "--runtimed-cluster-role", "--watch-namespaces"}, name) {
			args = append(args, a)
		}
	}
	p := runAs(t, env, buildController(t), serviceAccountIdentity("krt-system", "krt-controller"), args...)
	waitWorkers(t, p, knownControllers(t)...)
	// team-b's Runtime is made first: when team-a's has its objects, a
	// controller that watched team-b would have seen it too.
	other := newRuntime(t, env, "team-b")
	checkRuntimeObjects(t, env, "team-a", p)
	if err := env.Client.Get(ctx, client.ObjectKeyFromObject(other), other); err != nil {
		t.Fatal(err)
	}
	if other.Status.ObservedGeneration != 0 || len(other.Status.Conditions) > 0 {
		t.Errorf("team-b's Runtime was reconciled: %+v", other.Status)
	}
	if err := env.Client.Get(ctx, client.ObjectKey{Namespace: "team-b", Name: "krt-runtime-pool"}, &appsv1.Deployment{}); !apierrors.IsNotFound(err) {
		t.Errorf("team-b's Deployment: err = %v, want NotFound", err)
	}
	checkNoRefusal(t, p)
}
