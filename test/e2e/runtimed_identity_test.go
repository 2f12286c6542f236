package e2e

import (
	"context"
	"testing"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/util/retry"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	krtv1 "krt.dev/krt/api/v1alpha1"
)

// checkRuntimedIdentity acts as runtimed of one of the Runtime's pods, with
// the token a kubelet would give it, and checks what the API server lets
// it do: its own work, and nothing beyond.
func checkRuntimedIdentity(t *testing.T, ns, runtime string) {
	ctx := context.Background()
	pod := podsOf(ns, runtime)[0]
	as := clientAs(t, ns, "krt-runtime-"+runtime, pod.Name)
	for _, s := range []string{"allowed", "other"} {
		secret := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: s, Namespace: ns}, StringData: map[string]string{"k": "v"}}
		if err := env.Client.Create(ctx, secret); err != nil {
			t.Fatal(err)
		}
	}
	elsewhere := env.Namespace(t)
	theirs := newRun(t, elsewhere, krtv1.RunSpec{Runtime: "x", Script: "true", CancelRequested: true})
	mine := newRun(t, ns, krtv1.RunSpec{Runtime: "none", Script: "true"})
	// runtimed writes only Runs assigned to its own pod (the admission
	// policy krt-runtimed-own-runs): play the scheduler first. Runtime
	// "none" keeps runtimed from claiming it meanwhile.
	if err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		cur := &krtv1.Run{}
		if err := env.Client.Get(ctx, client.ObjectKeyFromObject(mine), cur); err != nil {
			return err
		}
		now := metav1.NowMicro()
		cur.Status.Phase, cur.Status.AssignedPod, cur.Status.AssignedPodUID = krtv1.RunScheduled, pod.Name, pod.UID
		cur.Status.ScheduledTime = &now
		return env.Client.Status().Update(ctx, cur)
	}); err != nil {
		t.Fatal(err)
	}
	steps := []struct {
		name    string
		do      func() error
		allowed bool
	}{
		{"read a Secret the Runtime names", func() error { return as.Get(ctx, client.ObjectKey{Namespace: ns, Name: "allowed"}, &corev1.Secret{}) }, true},
		{"read another Secret", func() error { return as.Get(ctx, client.ObjectKey{Namespace: ns, Name: "other"}, &corev1.Secret{}) }, false},
		{"list Secrets", func() error { return as.List(ctx, &corev1.SecretList{}, client.InNamespace(ns)) }, false},
		{"update a Run's status here", func() error { return updateStatus(ctx, as, mine) }, true},
		{"update a Run's status in another namespace", func() error { return updateStatus(ctx, as, theirs) }, false},
		{"change a Run's spec", func() error { return as.Update(ctx, fresh(t, mine)) }, false},
		{"delete a Run", func() error { return as.Delete(ctx, fresh(t, mine)) }, false},
		{"renew its own Lease", func() error { return touchLease(ctx, as, ns, pod.Name) }, true},
		{"write another pod's Lease", func() error { return touchLease(ctx, as, ns, "someone-else") }, false},
		{"list pods", func() error { return as.List(ctx, &corev1.PodList{}, client.InNamespace(ns)) }, false},
	}
	for _, s := range steps {
		err := s.do()
		switch {
		case s.allowed && err != nil:
			t.Errorf("%s: refused: %v", s.name, err)
		case !s.allowed && !apierrors.IsForbidden(err) && !apierrors.IsInvalid(err):
			t.Errorf("%s: err = %v, want it forbidden", s.name, err)
		}
	}
}

// clientAs is a client with a token for the ServiceAccount, bound to the
// pod, as the kubelet mounts it.
func clientAs(t *testing.T, ns, sa, pod string) client.Client {
	t.Helper()
	tr := &authenticationv1.TokenRequest{Spec: authenticationv1.TokenRequestSpec{
		ExpirationSeconds: ptr.To(int64(600)),
		BoundObjectRef:    &authenticationv1.BoundObjectReference{Kind: "Pod", APIVersion: "v1", Name: pod},
	}}
	acct := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: sa, Namespace: ns}}
	if err := env.Client.SubResource("token").Create(context.Background(), acct, tr); err != nil {
		t.Fatal(err)
	}
	cfg := rest.AnonymousClientConfig(env.Config)
	cfg.BearerToken = tr.Status.Token
	c, err := client.New(cfg, client.Options{Scheme: env.Scheme})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func fresh(t *testing.T, run *krtv1.Run) *krtv1.Run {
	t.Helper()
	cur := &krtv1.Run{}
	if err := env.Client.Get(context.Background(), client.ObjectKeyFromObject(run), cur); err != nil {
		t.Fatal(err)
	}
	return cur
}

func updateStatus(ctx context.Context, c client.Client, run *krtv1.Run) error {
	cur := &krtv1.Run{}
	if err := env.Client.Get(ctx, client.ObjectKeyFromObject(run), cur); err != nil {
		return err
	}
	cur.Status.Message = "written by runtimed's identity"
	return c.Status().Update(ctx, cur)
}

func touchLease(ctx context.Context, c client.Client, ns, name string) error {
	// The real runtimed renews this Lease too: retry on a conflict, which
	// is not what is being tested.
	return retry.RetryOnConflict(retry.DefaultRetry, func() error {
		l := &coordinationv1.Lease{}
		err := c.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, l)
		now := metav1.NewMicroTime(time.Now())
		if apierrors.IsNotFound(err) {
			l = &coordinationv1.Lease{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
				Spec: coordinationv1.LeaseSpec{RenewTime: &now}}
			return c.Create(ctx, l)
		}
		if err != nil {
			return err
		}
		l.Spec.RenewTime = &now
		return c.Update(ctx, l)
	})
}
