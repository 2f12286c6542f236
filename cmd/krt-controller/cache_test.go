package main

import (
	"context"
	"testing"
	"time"

	"github.com/go-logr/logr"
	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	krtv1 "krt.dev/krt/api/v1alpha1"
	"krt.dev/krt/test/kubetest"
)

// The manager's cache, as krt-controller builds it, holds only the pods
// and Leases labelled krt.dev/runtime, only in --watch-namespaces, and
// never Secrets: its client reads one by name, which an account with get
// and no list or watch on Secrets may do.
func TestCacheHoldsOnlyKrtObjects(t *testing.T) {
	ctrl.SetLogger(logr.Discard())
	env, err := kubetest.Start()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(env.Stop)
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	watched, other := env.Namespace(t), env.Namespace(t)

	// Everything is made before the cache lists, so what it holds after
	// its first sync is all it will ever have seen of them.
	made := map[string]string{krtv1.LabelRuntime: "pool"}
	for _, o := range []struct {
		ns, name string
		labels   map[string]string
	}{{watched, "theirs", nil}, {watched, "runtime-pod", made}, {other, "runtime-pod", made}} {
		meta := metav1.ObjectMeta{Namespace: o.ns, Name: o.name, Labels: o.labels}
		pod := &corev1.Pod{ObjectMeta: meta, Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "busybox"}}}}
		for _, obj := range []client.Object{pod, &coordinationv1.Lease{ObjectMeta: meta}} {
			if err := env.Client.Create(ctx, obj); err != nil {
				t.Fatal(err)
			}
		}
	}
	secret := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: watched, Name: "deploy-key"}}
	if err := env.Client.Create(ctx, secret); err != nil {
		t.Fatal(err)
	}

	// The account may list pods and Leases anywhere, so the bounds seen
	// below are the cache's, and may only get Secrets.
	role := &rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: "cache-test"}, Rules: []rbacv1.PolicyRule{
		{APIGroups: []string{""}, Resources: []string{"pods"}, Verbs: []string{"get", "list", "watch"}},
		{APIGroups: []string{"coordination.k8s.io"}, Resources: []string{"leases"}, Verbs: []string{"get", "list", "watch"}},
		{APIGroups: []string{""}, Resources: []string{"secrets"}, Verbs: []string{"get"}},
	}}
	binding := &rbacv1.ClusterRoleBinding{ObjectMeta: metav1.ObjectMeta{Name: "cache-test"},
		RoleRef:  rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: "cache-test"},
		Subjects: []rbacv1.Subject{{Kind: rbacv1.UserKind, Name: "cache-test"}}}
	for _, o := range []client.Object{role, binding} {
		if err := env.Client.Create(ctx, o); err != nil {
			t.Fatal(err)
		}
	}
	cfg, err := env.UserConfig("cache-test")
	if err != nil {
		t.Fatal(err)
	}
	opts, err := cacheOptions([]string{watched})
	if err != nil {
		t.Fatal(err)
	}
	mgr, err := ctrl.NewManager(cfg, ctrl.Options{Scheme: env.Scheme, Cache: opts, Client: clientOptions(),
		Metrics: metricsserver.Options{BindAddress: "0"}, HealthProbeBindAddress: "0"})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- mgr.Start(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	if !mgr.GetCache().WaitForCacheSync(ctx) {
		t.Fatal("the cache did not sync")
	}

	c := mgr.GetCache()
	for _, obj := range []client.Object{&corev1.Pod{}, &coordinationv1.Lease{}} {
		if err := c.Get(ctx, client.ObjectKey{Namespace: watched, Name: "runtime-pod"}, obj); err != nil {
			t.Errorf("%T labelled %s in %s: %v", obj, krtv1.LabelRuntime, watched, err)
		}
		if err := c.Get(ctx, client.ObjectKey{Namespace: watched, Name: "theirs"}, obj); !apierrors.IsNotFound(err) {
			t.Errorf("%T without the label: err = %v, want NotFound", obj, err)
		}
		if err := c.Get(ctx, client.ObjectKey{Namespace: other, Name: "runtime-pod"}, obj); err == nil {
			t.Errorf("%T in %s, which is not watched, is in the cache", obj, other)
		}
	}
	// Through an informer this would never return: the account cannot
	// list Secrets, so the informer would never sync.
	getCtx, stop := context.WithTimeout(ctx, 30*time.Second)
	defer stop()
	if err := mgr.GetClient().Get(getCtx, client.ObjectKeyFromObject(secret), &corev1.Secret{}); err != nil {
		t.Errorf("reading a Secret by name with get alone: %v", err)
	}
}

func TestParseNamespaces(t *testing.T) {
	for _, tc := range []struct {
		in   []string
		want []string
		err  bool
	}{
		{nil, nil, false},
		{[]string{""}, nil, false},
		{[]string{"team-a", " team-b ", "team-a"}, []string{"team-a", "team-b"}, false},
		{[]string{"Team_A"}, nil, true},
	} {
		got, err := parseNamespaces(tc.in)
		if (err != nil) != tc.err || len(got) != len(tc.want) {
			t.Errorf("parseNamespaces(%q) = %q, %v; want %q, error %v", tc.in, got, err, tc.want, tc.err)
			continue
		}
		for i := range got {
			if got[i] != tc.want[i] {
				t.Errorf("parseNamespaces(%q) = %q, want %q", tc.in, got, tc.want)
			}
		}
	}
}
