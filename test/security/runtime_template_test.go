package security

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/fluxcd/pkg/runtime/conditions"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/util/retry"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	krtv1 "krt.dev/krt/api/v1alpha1"
)

// A Runtime's author shapes its pods with spec.template: placement, a
// workspace, a sidecar, a pull secret reach the Deployment, and its pod
// still passes restricted Pod Security. Templates that would make a pod
// privileged, replace runtimed, mount the node or take a credential leave
// the Runtime Stalled, naming the field, and no Deployment is made.
func TestRuntimeTemplateKeepsWhatKrtOwns(t *testing.T) {
	ctx := context.Background()
	ns := restrictedNamespace(t)
	newRuntime := func(name, spec string) *krtv1.Runtime {
		// No replicas: the Deployment is what is checked, and the local
		// pool runs krt's own pod, without the template, anyway.
		return &krtv1.Runtime{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
			Spec: krtv1.RuntimeSpec{Replicas: ptr.To(int32(0)), Capacity: 1,
				Template: &krtv1.RuntimePodTemplate{Spec: &runtime.RawExtension{Raw: []byte(spec)}}}}
	}

	t.Run("carried and admitted", func(t *testing.T) {
		rt := newRuntime("shaped", `{
			"nodeSelector": {"pool": "ci"},
			"tolerations": [{"key": "ci", "operator": "Exists", "effect": "NoSchedule"}],
			"imagePullSecrets": [{"name": "registry"}],
			"volumes": [{"name": "workspace", "persistentVolumeClaim": {"claimName": "ci-workspace"}}],
			"containers": [
				{"name": "runtime", "volumeMounts": [{"name": "workspace", "mountPath": "/workspace"}]},
				{"name": "postgres", "image": "docker.io/library/postgres:17", "env": [{"name": "POSTGRES_PASSWORD", "value": "test"}]}
			]}`)
		if err := env.Client.Create(ctx, rt); err != nil {
			t.Fatal(err)
		}
		dep := &appsv1.Deployment{}
		eventually(t, time.Minute, "the Runtime's Deployment", func() bool {
			return env.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: "krt-runtime-shaped"}, dep) == nil
		})
		pod := dep.Spec.Template.Spec
		var mounted, sidecar bool
		for _, c := range pod.Containers {
			for _, m := range c.VolumeMounts {
				mounted = mounted || (c.Name == "runtime" && m.Name == "workspace" && m.MountPath == "/workspace")
			}
			sidecar = sidecar || c.Name == "postgres"
		}
		switch {
		case pod.NodeSelector["pool"] != "ci":
			t.Errorf("nodeSelector %v", pod.NodeSelector)
		case len(pod.Tolerations) != 1 || pod.Tolerations[0].Key != "ci":
			t.Errorf("tolerations %v", pod.Tolerations)
		case len(pod.ImagePullSecrets) != 1 || pod.ImagePullSecrets[0].Name != "registry":
			t.Errorf("imagePullSecrets %v", pod.ImagePullSecrets)
		case !mounted || !sidecar:
			t.Errorf("the runtime container mounts the workspace: %v; the postgres sidecar is there: %v", mounted, sidecar)
		}
		// What the ReplicaSet would create, in a namespace that enforces
		// restricted Pod Security.
		p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{GenerateName: "shaped-", Namespace: ns, Labels: dep.Spec.Template.Labels},
			Spec: pod}
		if err := env.Client.Create(ctx, p, client.DryRunAll); err != nil {
			t.Fatalf("the templated pod is refused: %v", err)
		}
		// The control: the namespace does enforce it, so the same pod
		// with a capability the template may not add is refused.
		for i := range p.Spec.Containers {
			if c := &p.Spec.Containers[i]; c.Name == "postgres" {
				c.SecurityContext.Capabilities.Add = []corev1.Capability{"NET_ADMIN"}
			}
		}
		if err := env.Client.Create(ctx, p, client.DryRunAll); !apierrors.IsForbidden(err) || !strings.Contains(err.Error(), `violates PodSecurity "restricted`) {
			t.Fatalf("the pod with a privileged sidecar: %v; want restricted Pod Security to refuse it", err)
		}
		// What the template drops, the Deployment drops.
		if err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
			if err := env.Client.Get(ctx, client.ObjectKeyFromObject(rt), rt); err != nil {
				return err
			}
			rt.Spec.Template.Spec = &runtime.RawExtension{Raw: []byte(`{"tolerations": [{"key": "ci", "operator": "Exists", "effect": "NoSchedule"}]}`)}
			return env.Client.Update(ctx, rt)
		}); err != nil {
			t.Fatal(err)
		}
		eventually(t, time.Minute, "the Deployment to drop the node selector, workspace and sidecar", func() bool {
			d := &appsv1.Deployment{}
			return env.Client.Get(ctx, client.ObjectKeyFromObject(dep), d) == nil && len(d.Spec.Template.Spec.NodeSelector) == 0 &&
				len(d.Spec.Template.Spec.Containers) == 2 && len(d.Spec.Template.Spec.Tolerations) == 1
		})
	})

	for _, tc := range []struct{ name, spec, field string }{
		{"privileged", `{"containers": [{"name": "runtime", "securityContext": {"privileged": true}}]}`,
			"spec.template.spec.containers[0].securityContext.privileged"},
		{"replace-runtimed", `{"containers": [{"name": "runtimed", "image": "docker.io/attacker/runtimed"}]}`,
			"spec.template.spec.containers[0].name"},
		{"hostpath", `{"volumes": [{"name": "node", "hostPath": {"path": "/"}}],
			"containers": [{"name": "runtime", "volumeMounts": [{"name": "node", "mountPath": "/node"}]}]}`,
			"spec.template.spec.volumes[0].hostPath"},
		{"host-network", `{"hostNetwork": true}`, "spec.template.spec.hostNetwork"},
		{"borrow-account", `{"serviceAccountName": "deployer", "automountServiceAccountToken": true}`,
			"spec.template.spec.serviceAccountName"},
		{"secret-volume", `{"volumes": [{"name": "s", "secret": {"secretName": "prod-credentials"}}]}`,
			"spec.template.spec.volumes[0].secret"},
		{"delete-runtimed", `{"containers": [{"name": "runtimed", "$patch": "delete"}]}`,
			"spec.template.spec.containers[0].$patch"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := env.Client.Create(ctx, newRuntime(tc.name, tc.spec)); err != nil {
				t.Fatal(err)
			}
			rt := &krtv1.Runtime{}
			eventually(t, time.Minute, "the Runtime to be Stalled", func() bool {
				return env.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: tc.name}, rt) == nil && conditions.IsStalled(rt)
			})
			if reason, msg := conditions.GetReason(rt, krtv1.ConditionStalled), conditions.GetMessage(rt, krtv1.ConditionStalled); reason != "InvalidSpec" || !strings.Contains(msg, tc.field+": Forbidden") {
				t.Errorf("Stalled %s: %q; want InvalidSpec naming %s", reason, msg, tc.field)
			}
			err := env.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: "krt-runtime-" + tc.name}, &appsv1.Deployment{})
			if !apierrors.IsNotFound(err) {
				t.Errorf("a Deployment for the refused Runtime: %v", err)
			}
		})
	}

	// krt's labels are refused by the API server itself: with them a
	// template could hide its pods from the controller and the policies.
	t.Run("krt-label", func(t *testing.T) {
		rt := newRuntime("label", `{}`)
		rt.Spec.Template.Metadata.Labels = map[string]string{"app.kubernetes.io/managed-by": "someone"}
		err := env.Client.Create(ctx, rt)
		if !apierrors.IsInvalid(err) || !strings.Contains(err.Error(), "spec.template.metadata.labels") {
			t.Fatalf("a template with krt's label: %v; want it refused naming spec.template.metadata.labels", err)
		}
	})
}

// restrictedNamespace is a fresh namespace that enforces the restricted
// Pod Security Standard.
func restrictedNamespace(t *testing.T) string {
	t.Helper()
	ctx := context.Background()
	name := env.Namespace(t)
	ns := &corev1.Namespace{}
	if err := env.Client.Get(ctx, client.ObjectKey{Name: name}, ns); err != nil {
		t.Fatal(err)
	}
	ns.Labels["pod-security.kubernetes.io/enforce"] = "restricted"
	if err := env.Client.Update(ctx, ns); err != nil {
		t.Fatal(err)
	}
	return name
}
