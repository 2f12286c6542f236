package security

import (
	"context"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	krtv1 "krt.dev/krt/api/v1alpha1"
	krtruntime "krt.dev/krt/controllers/runtime"
)

// A step's script looks for a Kubernetes credential where every pod has
// one by default. The runtime container has none: only runtimed mounts the
// pod's token.
func TestStepHoldsNoKubernetesToken(t *testing.T) {
	ctx := context.Background()
	ns := env.Namespace(t)
	startRuntime(t, ns, "steps", 1)

	pod := &corev1.Pod{}
	if err := env.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: pool.Pods(ns, "steps")[0].Name}, pod); err != nil {
		t.Fatal(err)
	}
	// The test API server runs without the ServiceAccount admission plugin
	// (envtest disables it), so this field is what a real cluster's
	// admission reads before it would mount a token in every container.
	if a := pod.Spec.AutomountServiceAccountToken; a == nil || *a {
		t.Errorf("the runtime pod's automountServiceAccountToken is %v: admission would give every container, and so every step, the token", a)
	}
	for _, c := range pod.Spec.Containers {
		hasToken := false
		for _, m := range c.VolumeMounts {
			hasToken = hasToken || m.MountPath == krtruntime.TokenDir
		}
		if want := c.Name == "runtimed"; hasToken != want {
			t.Errorf("container %s: token mounted = %v, want %v (mounts %+v)", c.Name, hasToken, want, c.VolumeMounts)
		}
	}

	run := &krtv1.Run{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "look-for-token"}, Spec: krtv1.RunSpec{
		Runtime: "steps",
		Script: `found=0
for f in ` + krtruntime.TokenDir + `/token /run/secrets/kubernetes.io/serviceaccount/token; do
  [ -r "$f" ] && found=$((found+1))
done
echo "token_files=$found" >> "$KRT_OUTPUTS"
echo "jwt_in_env=$(env | grep -c 'eyJ')" >> "$KRT_OUTPUTS"
echo "kubeconfig_env=${KUBECONFIG:+set}" >> "$KRT_OUTPUTS"`,
	}}
	if err := env.Client.Create(ctx, run); err != nil {
		t.Fatal(err)
	}
	var done *krtv1.Run
	eventually(t, 2*time.Minute, "the step to finish", func() bool {
		done = getRun(t, ns, run.Name)
		return done.Status.Phase.Terminal()
	})
	if done.Status.Phase != krtv1.RunSucceeded {
		t.Fatalf("the step %s: %s", done.Status.Phase, done.Status.Message)
	}
	want := map[string]string{"token_files": "0", "jwt_in_env": "0", "kubeconfig_env": ""}
	for k, v := range want {
		if done.Status.Outputs[k] != v {
			t.Errorf("the step found %s=%q, want %q", k, done.Status.Outputs[k], v)
		}
	}
}
