package install

import (
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"

	krtv1 "krt.dev/krt/api/v1alpha1"
	runtimectl "krt.dev/krt/controllers/runtime"
)

// A Runtime's pod, in each isolation mode and with a template, passes the restricted Pod
// Security Standard in the installed krt-system namespace, and each of
// the standard's rules broken in it is refused. (test/e2e runs the pods.)
func TestRuntimePodsPassRestrictedPSSInEveryMode(t *testing.T) {
	env := installed(t)
	for _, mode := range []krtv1.Isolation{krtv1.IsolationShared, krtv1.IsolationExclusive, krtv1.IsolationEphemeral} {
		t.Run(string(mode), func(t *testing.T) {
			rt := &krtv1.Runtime{ObjectMeta: metav1.ObjectMeta{Name: "pss", Namespace: "krt-system"},
				Spec: krtv1.RuntimeSpec{Image: krtv1.DefaultRuntimeImage, Capacity: 2, Isolation: mode,
					Languages: []krtv1.Language{krtv1.LanguageBash}}}
			tmpl := runtimectl.PodTemplate(rt, runtimectl.PodOptions{RuntimedImage: "ghcr.io/krt-dev/krt-runtimed:test"})
			checkRestricted(t, env, &appsv1.Deployment{Spec: appsv1.DeploymentSpec{Template: tmpl}})
		})
	}
	// A template's sidecar and workspace get krt's security context too.
	t.Run("templated", func(t *testing.T) {
		rt := &krtv1.Runtime{ObjectMeta: metav1.ObjectMeta{Name: "pss", Namespace: "krt-system"},
			Spec: krtv1.RuntimeSpec{Image: krtv1.DefaultRuntimeImage, Capacity: 2, Languages: []krtv1.Language{krtv1.LanguageBash},
				Template: &krtv1.RuntimePodTemplate{Spec: &runtime.RawExtension{Raw: []byte(`{"nodeSelector": {"pool": "ci"},
					"volumes": [{"name": "workspace", "persistentVolumeClaim": {"claimName": "ws"}}],
					"containers": [{"name": "runtime", "volumeMounts": [{"name": "workspace", "mountPath": "/workspace"}]},
						{"name": "postgres", "image": "docker.io/library/postgres:17"}]}`)}}}}
		tmpl, err := runtimectl.Pod(rt, runtimectl.PodOptions{RuntimedImage: "ghcr.io/krt-dev/krt-runtimed:test"})
		if err != nil {
			t.Fatal(err)
		}
		checkRestricted(t, env, &appsv1.Deployment{Spec: appsv1.DeploymentSpec{Template: tmpl}})
	})
}
