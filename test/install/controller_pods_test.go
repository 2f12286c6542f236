package install

import (
	"context"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/wait"
	"sigs.k8s.io/controller-runtime/pkg/client"

	krtv1 "krt.dev/krt/api/v1alpha1"
	runtimectl "krt.dev/krt/controllers/runtime"
	"krt.dev/krt/test/kubetest"
)

// krt-controller may delete pods, for the spent pods of ephemeral
// Runtimes, and RBAC cannot say which. The admission policy
// krt-controller-runtime-pods can: as the installed controller's account,
// deleting a tenant's own pod is refused, and a runtime pod goes.
func TestControllerDeletesOnlyRuntimePods(t *testing.T) {
	env := installed(t)
	ctx := context.Background()
	ns := env.Namespace(t)
	controller := as(t, env, serviceAccountIdentity("krt-system", "krt-controller"))
	pod := func(name string, labels map[string]string, spec *corev1.PodSpec) *corev1.Pod {
		if spec == nil {
			spec = &corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "busybox"}}}
		}
		p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns, Labels: labels}, Spec: *spec}
		if err := env.Client.Create(ctx, p); err != nil {
			t.Fatal(err)
		}
		return p
	}
	// The API server loads admission policies from a watch: wait, with a
	// deadline, for the first refusal, as a dry run that deletes nothing.
	probe := pod("probe", nil, nil)
	_ = wait.PollUntilContextTimeout(ctx, 50*time.Millisecond, 30*time.Second, true, func(context.Context) (bool, error) {
		return apierrors.IsForbidden(controller.Delete(ctx, probe, client.DryRunAll)), nil
	})
	// A Runtime's template adds labels, placement and sidecars, and
	// keeps krt's labels, so its pods stay runtime pods to the policy.
	templated := templatedRuntimePod(t, env, ns)
	for _, tc := range []struct {
		name   string
		labels map[string]string
		spec   *corev1.PodSpec
		refuse bool
	}{
		{name: "tenant-app", labels: map[string]string{"app": "deploy-pipeline"}, refuse: true},
		{name: "posing", labels: map[string]string{"krt.dev/runtime": "x"}, refuse: true},
		{name: "runtime-pod", labels: map[string]string{"krt.dev/runtime": "x", "app.kubernetes.io/managed-by": "krt",
			"app.kubernetes.io/component": "runtime"}},
		{name: "templated-runtime-pod", labels: templated.Labels, spec: &templated.Spec},
		{name: "template-labels-only", labels: map[string]string{"team": "web"}, spec: &templated.Spec, refuse: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := controller.Delete(ctx, pod(tc.name, tc.labels, tc.spec))
			if !tc.refuse {
				if err != nil {
					t.Fatalf("deleting a runtime pod as krt-controller: %v", err)
				}
				return
			}
			if !apierrors.IsForbidden(err) || !strings.Contains(err.Error(), "may only delete or mark runtime pods") {
				t.Errorf("deleting %s as krt-controller: want the admission policy's refusal, got %v", tc.name, err)
			}
		})
	}
}

// The runtime controller patches the draining mark onto the pods of a
// shrinking pool. As the installed controller's account, marking a tenant's
// pod, or changing a runtime pod's labels (which would take it out of its
// Deployment), is refused; marking a runtime pod is not.
func TestControllerMarksOnlyRuntimePods(t *testing.T) {
	env := installed(t)
	ctx := context.Background()
	ns := env.Namespace(t)
	controller := as(t, env, serviceAccountIdentity("krt-system", "krt-controller"))
	runtimeLabels := map[string]string{"krt.dev/runtime": "x", "app.kubernetes.io/managed-by": "krt", "app.kubernetes.io/component": "runtime"}
	pod := func(name string, labels map[string]string) *corev1.Pod {
		p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns, Labels: labels},
			Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "busybox"}}}}
		if err := env.Client.Create(ctx, p); err != nil {
			t.Fatal(err)
		}
		return p
	}
	mark := func(p *corev1.Pod, change func(*corev1.Pod)) error {
		orig := p.DeepCopy()
		change(p)
		return controller.Patch(ctx, p, client.MergeFrom(orig))
	}
	drain := func(p *corev1.Pod) {
		p.Annotations = map[string]string{krtv1.AnnotationDraining: "2026-01-01T00:00:00Z", krtv1.AnnotationPodDeletionCost: "-1000000"}
	}
	probe := pod("probe", nil)
	_ = wait.PollUntilContextTimeout(ctx, 50*time.Millisecond, 30*time.Second, true, func(context.Context) (bool, error) {
		return apierrors.IsForbidden(controller.Patch(ctx, probe, client.RawPatch(types.MergePatchType, []byte(`{"metadata":{"annotations":{"a":"b"}}}`)), client.DryRunAll)), nil
	})
	for _, tc := range []struct {
		name   string
		labels map[string]string
		change func(*corev1.Pod)
		refuse string
	}{
		{name: "tenant-app", labels: map[string]string{"app": "deploy-pipeline"}, change: drain, refuse: "may only delete or mark runtime pods"},
		{name: "runtime-pod-relabelled", labels: runtimeLabels, change: func(p *corev1.Pod) { p.Labels = map[string]string{"app": "x"} },
			refuse: "may only change the annotations"},
		{name: "runtime-pod", labels: runtimeLabels, change: drain},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := mark(pod(tc.name, tc.labels), tc.change)
			if tc.refuse == "" {
				if err != nil {
					t.Fatalf("marking a runtime pod draining as krt-controller: %v", err)
				}
				return
			}
			if !apierrors.IsForbidden(err) || !strings.Contains(err.Error(), tc.refuse) {
				t.Errorf("patching %s as krt-controller: want the admission policy's refusal %q, got %v", tc.name, tc.refuse, err)
			}
		})
	}
}

// templatedRuntimePod is the pod of a Runtime whose template sets a label,
// a node selector and a sidecar, with the ServiceAccount it names.
func templatedRuntimePod(t *testing.T, env *kubetest.Env, ns string) corev1.PodTemplateSpec {
	t.Helper()
	rt := &krtv1.Runtime{ObjectMeta: metav1.ObjectMeta{Name: "templated", Namespace: ns},
		Spec: krtv1.RuntimeSpec{Image: krtv1.DefaultRuntimeImage, Capacity: 1, Languages: []krtv1.Language{krtv1.LanguageBash},
			Template: &krtv1.RuntimePodTemplate{Metadata: krtv1.RuntimePodMetadata{Labels: map[string]string{"team": "web"}},
				Spec: &runtime.RawExtension{Raw: []byte(`{"nodeSelector": {"pool": "ci"},
					"containers": [{"name": "postgres", "image": "docker.io/library/postgres:17"}]}`)}}}}
	tmpl, err := runtimectl.Pod(rt, runtimectl.PodOptions{RuntimedImage: "ghcr.io/krt-dev/krt-runtimed:test"})
	if err != nil {
		t.Fatal(err)
	}
	sa := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: tmpl.Spec.ServiceAccountName, Namespace: ns}}
	if err := env.Client.Create(context.Background(), sa); err != nil {
		t.Fatal(err)
	}
	return tmpl
}
