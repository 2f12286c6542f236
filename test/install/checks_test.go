package install

import (
	"context"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"krt.dev/krt/test/kubetest"
)

// The controller's identity, as both installs name it. A client
// certificate with this user name is what RBAC takes for the ServiceAccount.
var serviceAccount = []string{"system:serviceaccount:krt-system:krt-controller",
	"system:serviceaccounts", "system:serviceaccounts:krt-system", "system:authenticated"}

func deployment(t *testing.T, u *unstructured.Unstructured) *appsv1.Deployment {
	t.Helper()
	dep := &appsv1.Deployment{}
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(u.Object, dep); err != nil {
		t.Fatal(err)
	}
	if len(dep.Spec.Template.Spec.Containers) != 1 {
		t.Fatalf("krt-controller has %d containers, want 1", len(dep.Spec.Template.Spec.Containers))
	}
	return dep
}

// crdNames are the CRDs controller-gen wrote to config/crd/bases.
func crdNames(t *testing.T) []string {
	t.Helper()
	crds, err := decodeFiles(filepath.Join(root, "config", "crd", "bases", "*.yaml"))
	if err != nil || len(crds) == 0 {
		t.Fatalf("config/crd/bases: %v (%d CRDs)", err, len(crds))
	}
	var names []string
	for _, c := range crds {
		names = append(names, c.GetName())
	}
	return names
}

// checkRestricted creates a Pod from the Deployment's template in
// krt-system, which enforces the restricted Pod Security Standard, and
// expects it admitted; then copies that each break one of the standard's
// rules, which must be refused, or the first check proved nothing.
func checkRestricted(t *testing.T, env *kubetest.Env, dep *appsv1.Deployment) {
	ctx := context.Background()
	ns := &corev1.Namespace{}
	if err := env.Client.Get(ctx, client.ObjectKey{Name: "krt-system"}, ns); err != nil {
		t.Fatal(err)
	}
	if level := ns.Labels["pod-security.kubernetes.io/enforce"]; level != "restricted" {
		t.Fatalf("krt-system enforces %q, not restricted", level)
	}
	pod := func(breakIt func(*corev1.PodSpec, *corev1.SecurityContext)) *corev1.Pod {
		spec := dep.Spec.Template.Spec.DeepCopy()
		if breakIt != nil {
			breakIt(spec, spec.Containers[0].SecurityContext)
		}
		return &corev1.Pod{ObjectMeta: metav1.ObjectMeta{GenerateName: "pss-", Namespace: "krt-system"}, Spec: *spec}
	}
	good := pod(nil)
	if err := env.Client.Create(ctx, good); err != nil {
		t.Fatalf("the krt-controller pod is refused: %v", err)
	}
	// Never scheduled, so it goes at once.
	_ = env.Client.Delete(ctx, good)
	for name, breakIt := range map[string]func(*corev1.PodSpec, *corev1.SecurityContext){
		"allowPrivilegeEscalation": func(_ *corev1.PodSpec, c *corev1.SecurityContext) { c.AllowPrivilegeEscalation = ptr.To(true) },
		"capabilities":             func(_ *corev1.PodSpec, c *corev1.SecurityContext) { c.Capabilities = nil },
		"runAsNonRoot": func(p *corev1.PodSpec, c *corev1.SecurityContext) {
			p.SecurityContext.RunAsNonRoot, c.RunAsNonRoot = nil, ptr.To(false)
		},
		"seccompProfile": func(p *corev1.PodSpec, c *corev1.SecurityContext) {
			p.SecurityContext.SeccompProfile, c.SeccompProfile = nil, nil
		},
	} {
		err := env.Client.Create(ctx, pod(breakIt), client.DryRunAll)
		if !apierrors.IsForbidden(err) || !strings.Contains(err.Error(), `violates PodSecurity "restricted`) || !strings.Contains(err.Error(), name) {
			t.Errorf("a copy with %s broken: want a PodSecurity refusal naming it, got %v", name, err)
		}
	}
}

// checkLeaderElectionRBAC acts as the controller's ServiceAccount: it may
// hold its Lease in krt-system, and nowhere else, since that Role is the
// only one that writes Leases.
func checkLeaderElectionRBAC(t *testing.T, env *kubetest.Env) {
	ctx := context.Background()
	cfg, err := env.UserConfig(serviceAccount[0], serviceAccount[1:]...)
	if err != nil {
		t.Fatal(err)
	}
	c, err := client.New(cfg, client.Options{Scheme: env.Scheme})
	if err != nil {
		t.Fatal(err)
	}
	lease := func(ns string) *coordinationv1.Lease {
		return &coordinationv1.Lease{
			ObjectMeta: metav1.ObjectMeta{Name: "krt-controller.krt.dev", Namespace: ns},
			Spec:       coordinationv1.LeaseSpec{HolderIdentity: ptr.To("test")},
		}
	}
	held := lease("krt-system")
	if err := c.Create(ctx, held); err != nil {
		t.Fatalf("creating the leader Lease: %v", err)
	}
	held.Spec.HolderIdentity = ptr.To("another")
	if err := c.Update(ctx, held); err != nil {
		t.Errorf("renewing the leader Lease: %v", err)
	}
	event := &corev1.Event{
		ObjectMeta:     metav1.ObjectMeta{GenerateName: "krt-controller.", Namespace: "krt-system"},
		InvolvedObject: corev1.ObjectReference{Kind: "Lease", Namespace: "krt-system", Name: held.Name},
		Reason:         "LeaderElection", Message: "test became leader", Type: corev1.EventTypeNormal,
	}
	if err := c.Create(ctx, event); err != nil {
		t.Errorf("recording the leader Event: %v", err)
	}
	_ = env.Client.Delete(ctx, held)
	other := env.Namespace(t)
	if err := c.Create(ctx, lease(other)); !apierrors.IsForbidden(err) {
		t.Errorf("a Lease in %s: want forbidden, got %v", other, err)
	}
}

// checkControllerRuns starts the real krt-controller with the Deployment's
// own flags, as the ServiceAccount, and waits for every controller to
// start its workers, which each does only once all its watches have
// listed, and then to finish reconciling what seed made: a flag the
// binary does not know, or a permission the ClusterRole lacks for a watch
// or a controller's first writes, fails here. Only what cannot work
// outside a pod is changed.
func checkControllerRuns(t *testing.T, env *kubetest.Env, dep *appsv1.Deployment) {
	dir := t.TempDir()
	bin := filepath.Join(dir, "krt-controller")
	// Without -race: the binary's flags and permissions are what is under
	// test here; the other suites run it under the race detector.
	build := exec.Command("go", "build", "-o", bin, "./cmd/krt-controller")
	build.Dir = root
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	kubeconfig, err := env.UserKubeconfig(serviceAccount[0], serviceAccount[1:]...)
	if err != nil {
		t.Fatal(err)
	}
	addr := map[string]string{}
	for _, f := range []string{"--webhook-bind-address", "--metrics-bind-address", "--health-probe-bind-address"} {
		if addr[f], err = kubetest.FreeAddress(); err != nil {
			t.Fatal(err)
		}
	}
	args := []string{"--kubeconfig", kubeconfig}
	rewritten := map[string]bool{}
	for _, a := range dep.Spec.Template.Spec.Containers[0].Args {
		name, _, _ := strings.Cut(a, "=")
		switch {
		case addr[name] != "":
			a = name + "=" + addr[name]
		case name == "--git-cache-dir":
			a = name + "=" + filepath.Join(dir, "git")
		case name == "--enable-leader-election":
			// controller-runtime finds the Lease's namespace only in a
			// pod's service account mount; checkLeaderElectionRBAC covers
			// the Role that election needs.
			rewritten[name] = true
			continue
		default:
			args = append(args, a)
			continue
		}
		rewritten[name] = true
		args = append(args, a)
	}
	if len(rewritten) != 5 {
		t.Fatalf("the Deployment's args %q lack some of the addresses, --git-cache-dir or --enable-leader-election", dep.Spec.Template.Spec.Containers[0].Args)
	}
	seed(t, env)
	p, err := kubetest.StartProcess(dir, "krt-controller", bin, args...)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Stop()

	waiting := knownControllers(t)
	deadline := time.Now().Add(2 * time.Minute)
	for len(waiting) > 0 {
		if p.Exited() {
			t.Fatalf("krt-controller exited:\n%s", p.Tail(30))
		}
		if time.Now().After(deadline) {
			t.Fatalf("controllers %v did not start their workers in 2 minutes:\n%s", waiting, p.Tail(30))
		}
		if refused := p.Refusals(0, 5); refused != "" {
			t.Fatalf("krt-controller was refused something as its ServiceAccount while starting:\n%s", refused)
		}
		log, _ := os.ReadFile(p.Log)
		waiting = slices.DeleteFunc(waiting, func(name string) bool { return startedWorkers(string(log), name) })
		time.Sleep(200 * time.Millisecond)
	}
	resp, err := http.Get("http://" + addr["--health-probe-bind-address"] + "/readyz")
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Errorf("/readyz: %v %v", resp, err)
	}
	if resp != nil {
		resp.Body.Close()
	}
	if conn, err := net.DialTimeout("tcp", addr["--webhook-bind-address"], time.Second); err != nil {
		t.Errorf("the webhook receiver does not listen: %v", err)
	} else {
		conn.Close()
	}
	// A refusal after the workers started, from a controller's first
	// reconciles of what seed made: wait until each controller has done
	// some work and its queue has nothing left to hand out or finish.
	waitDrained(t, p, "http://"+addr["--metrics-bind-address"]+"/metrics", knownControllers(t))
	if refused := p.Refusals(0, 5); refused != "" {
		t.Errorf("krt-controller was refused something as its ServiceAccount:\n%s", refused)
	}
}

// startedWorkers finds controller-runtime's "Starting workers" line for
// the named controller in the JSON log.
func startedWorkers(log, name string) bool {
	for _, line := range strings.Split(log, "\n") {
		if strings.Contains(line, `"msg":"Starting workers"`) && strings.Contains(line, `"controller":"`+name+`"`) {
			return true
		}
	}
	return false
}
