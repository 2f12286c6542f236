package security

import (
	"context"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/fluxcd/pkg/runtime/conditions"

	krtv1 "krt.dev/krt/api/v1alpha1"
)

// A tenant who may create Runtimes tries to run its pods as an account
// made for something else: a deploy pipeline's, or another Runtime's that
// may read deploy Secrets. krt refuses, binds nothing to that account, and
// starts no pod; an account labelled for the Runtime is accepted.
func TestRuntimeCannotBorrowAServiceAccount(t *testing.T) {
	ctx := context.Background()
	ns := env.Namespace(t)
	sa := func(name string, labels map[string]string) {
		t.Helper()
		if err := env.Client.Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, Labels: labels}}); err != nil {
			t.Fatal(err)
		}
	}
	sa("deployer", nil)
	startRuntime(t, ns, "deploy", 1, func(rt *krtv1.Runtime) { rt.Spec.Secrets = []string{"prod-credentials"} })
	sa("krt-runtime-unlabelled", nil)
	sa("krt-runtime-mine", map[string]string{krtv1.LabelRuntime: "mine"})

	runtime := func(name, account string) *krtv1.Runtime {
		return &krtv1.Runtime{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
			Spec: krtv1.RuntimeSpec{Replicas: ptr.To(int32(1)), Capacity: 1, ServiceAccountName: account}}
	}
	// An account outside krt's prefix is refused by the API server itself.
	err := env.Client.Create(ctx, runtime("borrow-deployer", "deployer"))
	if !apierrors.IsInvalid(err) || !strings.Contains(err.Error(), "serviceAccountName must start with krt-runtime-") {
		t.Fatalf("a Runtime naming ServiceAccount deployer: %v; want it refused", err)
	}

	for _, c := range []struct{ name, account, want string }{
		{"borrow-deploy", "krt-runtime-deploy", `is not dedicated to this Runtime: it needs the label krt.dev/runtime=borrow-deploy (it has "deploy")`},
		{"borrow-unlabelled", "krt-runtime-unlabelled", `it needs the label krt.dev/runtime=borrow-unlabelled (it has "")`},
		{"borrow-missing", "krt-runtime-nobody", `ServiceAccount "krt-runtime-nobody" does not exist`},
	} {
		t.Run(c.name, func(t *testing.T) {
			if err := env.Client.Create(ctx, runtime(c.name, c.account)); err != nil {
				t.Fatal(err)
			}
			rt := &krtv1.Runtime{}
			eventually(t, time.Minute, "the Runtime to be Stalled", func() bool {
				_ = env.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: c.name}, rt)
				return conditions.IsStalled(rt)
			})
			if got := conditions.GetReason(rt, krtv1.ConditionStalled); got != "ForeignServiceAccount" {
				t.Errorf("Stalled reason %q, want ForeignServiceAccount", got)
			}
			if msg := conditions.GetMessage(rt, krtv1.ConditionStalled); !strings.Contains(msg, c.want) {
				t.Errorf("Stalled message %q, want it to say %q", msg, c.want)
			}
			for _, o := range []struct {
				obj  client.Object
				name string
			}{{&appsv1.Deployment{}, "krt-runtime-" + c.name}, {&rbacv1.RoleBinding{}, "krt-runtime-" + c.name}, {&rbacv1.RoleBinding{}, "krt-runtime-" + c.name + "-runtimed"}} {
				if err := env.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: o.name}, o.obj); !apierrors.IsNotFound(err) {
					t.Errorf("%T %s exists (%v): krt acted for a refused Runtime", o.obj, o.name, err)
				}
			}
		})
	}
	// The control: the labelled account is taken, and its pods run.
	if err := env.Client.Create(ctx, runtime("mine", "krt-runtime-mine")); err != nil {
		t.Fatal(err)
	}
	eventually(t, 2*time.Minute, "the Runtime with its dedicated account to run a pod", func() bool {
		pods := pool.Pods(ns, "mine")
		return len(pods) == 1 && pods[0].RuntimedPID != 0
	})
}
