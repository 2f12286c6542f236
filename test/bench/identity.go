package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	runtimectl "krt.dev/krt/controllers/runtime"
)

// identityWrites is the CPU per Run of the bare writes made as krt makes
// them: assigned by a client named krt-controller, and claimed and ended
// by one named runtimed, with a pod-bound ServiceAccount token, under the
// ClusterRole krt-runtimed, through the fairness queue of service
// accounts and the policy krt-runtimed-own-runs. Least privilege is one
// of krt's promises, so these checks are part of the writes krt needs;
// the admin's bare writes, all by one field manager, skip every one.
// Each window alternates with one of the admin's, both from an empty
// namespace, since the same writes cost the API server more as it ages
// under load: it returns both medians, krt's way then the admin's.
func (b *bench) identityWrites(ctx context.Context, ns string) (asKrt, admin map[string]float64, err error) {
	as, err := b.asRuntimed(ctx, ns)
	if err != nil {
		return nil, nil, fmt.Errorf("krt's identities for the bare writes: %w", err)
	}
	var krtCPU, adminCPU []map[string]float64
	for i := range b.opts.repeats {
		for _, who := range []struct {
			name, prof string
			as         writer
			cpu        *[]map[string]float64
		}{{"the admin", "paired-admin", b.asAdmin(), &adminCPU}, {"krt-controller and runtimed", "as-krt", as, &krtCPU}} {
			if err := b.clean(ctx, ns); err != nil {
				return nil, nil, err
			}
			prof := ""
			if i == 0 && b.opts.profiles != "" {
				prof = filepath.Join(b.opts.profiles, "kube-apiserver-bare-writes-"+who.prof+".prof")
			}
			rate, c, err := b.writeWindow(ctx, ns, prof, who.as, nil)
			if err != nil {
				return nil, nil, err
			}
			*who.cpu = append(*who.cpu, c)
			fmt.Fprintf(os.Stderr, "bench: api writes, assign, claim and result by %s, repeat %d: %.0f writes/s\n", who.name, i+1, rate)
		}
	}
	return medianByKey(krtCPU), medianByKey(adminCPU), b.clean(ctx, ns)
}

// asRuntimed makes the identities krt's writers have: the scheduler's
// (the admin's credentials, as the bench runs krt-controller, under its
// own field manager) and runtimed's, which the Runtime controller and a
// kubelet give it: a ServiceAccount named as the controller names them, bound in
// ns to the ClusterRole krt-runtimed, and a token bound to a Pod object of
// that account, which nothing runs.
func (b *bench) asRuntimed(ctx context.Context, ns string) (writer, error) {
	c := b.env.Client
	name := runtimectl.NamePrefix + "baseline"
	sa := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns}}
	binding := &rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
		RoleRef:  rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: runtimectl.DefaultRuntimedClusterRole},
		Subjects: []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Name: name, Namespace: ns}}}
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "baseline-pod", Namespace: ns},
		Spec: corev1.PodSpec{ServiceAccountName: name, AutomountServiceAccountToken: ptr.To(false),
			Containers: []corev1.Container{{Name: "runtimed", Image: "runtimed"}}}}
	for _, o := range []client.Object{sa, binding, pod} {
		if err := c.Create(ctx, o); err != nil {
			return writer{}, err
		}
	}
	kubeconfig, err := b.env.PodKubeconfig(ctx, pod)
	if err != nil {
		return writer{}, err
	}
	cfg, err := clientcmd.BuildConfigFromFlags("", kubeconfig)
	if err != nil {
		return writer{}, err
	}
	cfg.QPS, cfg.Burst = b.env.Config.QPS, b.env.Config.Burst
	// Each of krt's processes is its own field manager, named after it by
	// its user agent, so a Run's managed fields hold three entries and
	// each write moves fields from one to the next; the bench's bare
	// writes hold one manager.
	cfg.UserAgent = "runtimed"
	result, err := client.New(cfg, client.Options{Scheme: b.env.Scheme})
	if err != nil {
		return writer{}, err
	}
	scheduler := rest.CopyConfig(b.env.Config)
	scheduler.UserAgent = "krt-controller"
	assign, err := client.New(scheduler, client.Options{Scheme: b.env.Scheme})
	if err != nil {
		return writer{}, err
	}
	return writer{assign: assign, result: result, pod: pod.Name, podUID: pod.UID}, nil
}
