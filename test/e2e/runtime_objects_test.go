package e2e

import (
	"context"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	krtv1 "krt.dev/krt/api/v1alpha1"
	runtimectl "krt.dev/krt/controllers/runtime"
)

func TestRuntimePodsPassTheRestrictedPodSecurityStandard(t *testing.T) {
	ctx := context.Background()
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: "restricted-",
		Labels: map[string]string{"pod-security.kubernetes.io/enforce": "restricted"}}}
	if err := env.Client.Create(ctx, ns); err != nil {
		t.Fatal(err)
	}
	// Enforcement is on: a pod that runs as root is refused.
	rootPod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "root", Namespace: ns.Name},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "busybox"}}}}
	if err := env.Client.Create(ctx, rootPod); !apierrors.IsForbidden(err) || !strings.Contains(err.Error(), "restricted") {
		t.Fatalf("a non-compliant pod: err = %v, want it refused by Pod Security admission", err)
	}
	// The Runtime's pods, made from the Runtime controller's template, are
	// admitted, come up, and run Runs, in every isolation mode: runtimed's
	// own uid and the isolated modes' flags change nothing the standard
	// looks at. An ephemeral pod is replaced after its Run, and its
	// replacement is admitted too.
	for _, mode := range []krtv1.Isolation{krtv1.IsolationShared, krtv1.IsolationExclusive, krtv1.IsolationEphemeral} {
		t.Run(string(mode), func(t *testing.T) {
			name := "strict-" + string(mode)
			createRuntime(t, ns.Name, name, 1, 1, func(rt *krtv1.Runtime) { rt.Spec.Isolation = mode })
			for i := range 2 {
				run := waitDone(t, newRun(t, ns.Name, krtv1.RunSpec{Runtime: name, Script: "echo admitted"}))
				if run.Status.Phase != krtv1.RunSucceeded {
					t.Fatalf("run %d: phase = %s (%s)", i, run.Status.Phase, run.Status.Message)
				}
			}
		})
	}
}

func TestRuntimeDeploymentAndStatus(t *testing.T) {
	ns := setupRuntime(t, "pool", 2, 3)
	rt := &krtv1.Runtime{}
	eventually(t, time.Minute, "the Runtime to be Ready", func() bool {
		err := env.Client.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: "pool"}, rt)
		return err == nil && findRuntimeCondition(rt, krtv1.ConditionReady) == metav1.ConditionTrue && rt.Status.ReadyPods == 2
	})
	if rt.Status.ReadyPods != 2 || rt.Status.Capacity != 6 || rt.Status.ObservedGeneration != rt.Generation {
		t.Errorf("status = %+v, want 2 ready pods, 6 slots, observed generation %d", rt.Status, rt.Generation)
	}
	d := &appsv1.Deployment{}
	if err := env.Client.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: "krt-runtime-pool"}, d); err != nil {
		t.Fatal(err)
	}
	spec := d.Spec.Template.Spec
	if *d.Spec.Replicas != 2 || len(spec.InitContainers) != 1 || len(spec.Containers) != 2 || spec.ServiceAccountName != "krt-runtime-pool" {
		t.Fatalf("deployment = %d replicas, %d init, %d containers, sa %q", *d.Spec.Replicas, len(spec.InitContainers), len(spec.Containers), spec.ServiceAccountName)
	}
	runtime, runtimed := spec.Containers[0], spec.Containers[1]
	if runtime.Image != krtv1.DefaultRuntimeImage || runtime.Command[0] != runtimectl.RuntimeBinary || runtime.ReadinessProbe == nil {
		t.Errorf("runtime container = %+v", runtime)
	}
	if runtimed.LivenessProbe == nil || runtimed.ReadinessProbe == nil || len(runtimed.Env) != 3 || runtimed.Env[2].ValueFrom.FieldRef.FieldPath != "metadata.uid" {
		t.Errorf("runtimed container lacks probes or the downward API: %+v", runtimed)
	}
	for _, c := range append(spec.InitContainers, spec.Containers...) {
		sc := c.SecurityContext
		if !*sc.ReadOnlyRootFilesystem || *sc.AllowPrivilegeEscalation || !*sc.RunAsNonRoot || sc.Capabilities.Drop[0] != "ALL" {
			t.Errorf("container %s security context = %+v", c.Name, sc)
		}
	}
	if d.Generation != 1 {
		t.Errorf("the Deployment was rewritten %d times for an unchanged Runtime", d.Generation-1)
	}
	if owner := metav1.GetControllerOf(d); owner == nil || owner.Kind != "Runtime" || owner.Name != "pool" {
		t.Errorf("deployment owner = %+v", owner)
	}
	if _, found := d.Labels["app.kubernetes.io/instance"]; found {
		t.Error("the Deployment carries app.kubernetes.io/instance, which Argo CD would take for its own")
	}
}

func TestRuntimeRoleGrantsExactlyWhatRuntimedNeeds(t *testing.T) {
	ns := setupRuntime(t, "rbac", 1, 1, func(rt *krtv1.Runtime) { rt.Spec.Secrets = []string{"allowed"} })
	role := &rbacv1.Role{}
	if err := env.Client.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: "krt-runtime-rbac"}, role); err != nil {
		t.Fatal(err)
	}
	// runtimed's own rights come from the ClusterRole krt-runtimed, bound
	// in this namespace; the Role adds only the Secrets the Runtime names.
	binding := &rbacv1.RoleBinding{}
	if err := env.Client.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: "krt-runtime-rbac-runtimed"}, binding); err != nil {
		t.Fatal(err)
	}
	if ref := binding.RoleRef; ref.Kind != "ClusterRole" || ref.Name != "krt-runtimed" {
		t.Errorf("krt-runtime-rbac-runtimed binds %s %s, want ClusterRole krt-runtimed", ref.Kind, ref.Name)
	}
	want := []string{" secrets get [allowed]"}
	var got []string
	for _, r := range role.Rules {
		got = append(got, strings.Join(r.APIGroups, ",")+" "+strings.Join(r.Resources, ",")+" "+
			strings.Join(r.Verbs, ",")+" ["+strings.Join(r.ResourceNames, ",")+"]")
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("role rules:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	checkRuntimedIdentity(t, ns, "rbac")
}

func TestRuntimeNetworkPolicy(t *testing.T) {
	https := intstr.FromInt32(443)
	egress := networkingv1.NetworkPolicyEgressRule{
		To:    []networkingv1.NetworkPolicyPeer{{IPBlock: &networkingv1.IPBlock{CIDR: "10.20.0.0/16"}}},
		Ports: []networkingv1.NetworkPolicyPort{{Port: &https}},
	}
	cases := []struct {
		name       string
		network    *krtv1.RuntimeNetwork
		wantEgress bool
	}{
		{name: "egress open", network: nil},
		{name: "egress restricted", network: &krtv1.RuntimeNetwork{Egress: []networkingv1.NetworkPolicyEgressRule{egress}}, wantEgress: true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ns := setupRuntime(t, "net", 1, 1, func(rt *krtv1.Runtime) { rt.Spec.Network = tc.network })
			np := &networkingv1.NetworkPolicy{}
			if err := env.Client.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: "krt-runtime-net"}, np); err != nil {
				t.Fatal(err)
			}
			// No ingress but runtimed's metrics port, from the namespaces
			// labelled for scraping: the log port stays closed.
			if np.Spec.PodSelector.MatchLabels[krtv1.LabelRuntime] != "net" || np.Spec.PolicyTypes[0] != networkingv1.PolicyTypeIngress {
				t.Fatalf("policy = %+v, want ingress restricted", np.Spec)
			}
			if in := np.Spec.Ingress; len(in) != 1 || len(in[0].Ports) != 1 || in[0].Ports[0].Port.StrVal != krtv1.MetricsPortName ||
				len(in[0].From) != 1 || in[0].From[0].NamespaceSelector.MatchLabels[krtv1.LabelScrapeMetrics] != "true" {
				t.Fatalf("ingress = %+v, want only %s from namespaces labelled %s=true", in, krtv1.MetricsPortName, krtv1.LabelScrapeMetrics)
			}
			hasEgress := len(np.Spec.PolicyTypes) == 2
			if hasEgress != tc.wantEgress {
				t.Fatalf("policy types = %v", np.Spec.PolicyTypes)
			}
			if tc.wantEgress {
				if len(np.Spec.Egress) < 2 || np.Spec.Egress[0].To[0].IPBlock.CIDR != "10.20.0.0/16" || np.Spec.Egress[1].Ports[0].Port.IntVal != 53 {
					t.Errorf("egress = %+v, want the Runtime's rule, then DNS (then the API server)", np.Spec.Egress)
				}
				t.Logf("egress rules: %d (the last ones reach the API server)", len(np.Spec.Egress))
			}
		})
	}
}

func findRuntimeCondition(rt *krtv1.Runtime, typ string) metav1.ConditionStatus {
	for _, c := range rt.Status.Conditions {
		if c.Type == typ {
			return c.Status
		}
	}
	return ""
}
