package install

import (
	"context"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"sigs.k8s.io/controller-runtime/pkg/client"
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
	pod := func(name string, labels map[string]string) *corev1.Pod {
		p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns, Labels: labels},
			Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "busybox"}}}}
		if err := env.Client.Create(ctx, p); err != nil {
			t.Fatal(err)
		}
		return p
	}
	// The API server loads admission policies from a watch: wait, with a
	// deadline, for the first refusal, as a dry run that deletes nothing.
	probe := pod("probe", nil)
	_ = wait.PollUntilContextTimeout(ctx, 50*time.Millisecond, 30*time.Second, true, func(context.Context) (bool, error) {
		return apierrors.IsForbidden(controller.Delete(ctx, probe, client.DryRunAll)), nil
	})
	for _, tc := range []struct {
		name   string
		labels map[string]string
		refuse bool
	}{
		{name: "tenant-app", labels: map[string]string{"app": "deploy-pipeline"}, refuse: true},
		{name: "posing", labels: map[string]string{"krt.dev/runtime": "x"}, refuse: true},
		{name: "runtime-pod", labels: map[string]string{"krt.dev/runtime": "x", "app.kubernetes.io/managed-by": "krt",
			"app.kubernetes.io/component": "runtime"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := controller.Delete(ctx, pod(tc.name, tc.labels))
			if !tc.refuse {
				if err != nil {
					t.Fatalf("deleting a runtime pod as krt-controller: %v", err)
				}
				return
			}
			if !apierrors.IsForbidden(err) || !strings.Contains(err.Error(), "may only delete runtime pods") {
				t.Errorf("deleting %s as krt-controller: want the admission policy's refusal, got %v", tc.name, err)
			}
		})
	}
}
