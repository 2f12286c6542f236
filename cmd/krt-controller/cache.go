package main

import (
	"fmt"
	"slices"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	networkingv1 "k8s.io/api/networking/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/selection"
	"k8s.io/apimachinery/pkg/util/validation"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"

	krtv1 "krt.dev/krt/api/v1alpha1"
)

// cacheOptions says what krt-controller keeps in memory, and so what it
// lists and watches.
//   - Only the namespaces of --watch-namespaces, when it names any; RBAC can
//     then be Roles in those namespaces.
//   - Of Kubernetes' own kinds, only what krt made or runtimed writes: the
//     objects labelled krt.dev/runtime. A Lease or pod of anyone else never
//     enters the cache, and changes to them never wake a controller.
//   - The kubernetes Service's EndpointSlices, in default only.
//
// Secrets are not cached at all (see clientOptions).
func cacheOptions(namespaces []string) (cache.Options, error) {
	runtimeMade, err := labels.NewRequirement(krtv1.LabelRuntime, selection.Exists, nil)
	if err != nil {
		return cache.Options{}, err
	}
	made := cache.ByObject{Label: labels.NewSelector().Add(*runtimeMade)}
	opts := cache.Options{
		// Nothing reads managed fields; dropping them halves what the
		// cache holds and copies.
		DefaultTransform: cache.TransformStripManagedFields(),
		ByObject: map[client.Object]cache.ByObject{
			&corev1.Pod{}:                 made,
			&coordinationv1.Lease{}:       made,
			&appsv1.Deployment{}:          made,
			&corev1.ServiceAccount{}:      made,
			&rbacv1.Role{}:                made,
			&rbacv1.RoleBinding{}:         made,
			&networkingv1.NetworkPolicy{}: made,
			&discoveryv1.EndpointSlice{}: {Namespaces: map[string]cache.Config{metav1.NamespaceDefault: {
				LabelSelector: labels.SelectorFromSet(labels.Set{discoveryv1.LabelServiceName: "kubernetes"}),
			}}},
		},
	}
	if len(namespaces) > 0 {
		opts.DefaultNamespaces = map[string]cache.Config{}
		for _, ns := range namespaces {
			opts.DefaultNamespaces[ns] = cache.Config{}
		}
	}
	return opts, nil
}

// clientOptions makes the manager's client read Secrets from the API
// server, one by name, instead of through an informer that would list and
// watch every Secret it may see. krt's RBAC has get on Secrets, never list
// or watch, so such an informer could not even start.
func clientOptions() client.Options {
	return client.Options{Cache: &client.CacheOptions{DisableFor: []client.Object{&corev1.Secret{}}}}
}

// parseNamespaces reads --watch-namespaces: a comma-separated list, empty
// for every namespace.
func parseNamespaces(list []string) ([]string, error) {
	var out []string
	for _, ns := range list {
		ns = strings.TrimSpace(ns)
		if ns == "" || slices.Contains(out, ns) {
			continue
		}
		if errs := validation.IsDNS1123Label(ns); len(errs) > 0 {
			return nil, fmt.Errorf("--watch-namespaces: %q is not a namespace name: %s", ns, strings.Join(errs, "; "))
		}
		out = append(out, ns)
	}
	return out, nil
}
