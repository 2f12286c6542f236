// Package install tests what a user installs krt with: the Helm chart in
// charts/krt and the kustomize base config/default. Each is rendered the
// way a user would (bin/helm, kustomize's krusty) and applied to its own
// real kube-apiserver, from which kubetest's own install of krt has been
// removed first, so that nothing but the install under test is there.
package install

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"krt.dev/krt/test/kubetest"
)

var (
	root string
	// One API server per install, started when a test first asks.
	clustersMu sync.Mutex
	clusters   = map[string]*kubetest.Env{}
)

func TestMain(m *testing.M) {
	var err error
	if root, err = kubetest.RepoRoot(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	code := m.Run()
	for _, env := range clusters {
		env.Stop()
	}
	os.Exit(code)
}

// cluster returns the API server named name, empty of krt.
func cluster(t *testing.T, name string) *kubetest.Env {
	t.Helper()
	clustersMu.Lock()
	defer clustersMu.Unlock()
	if env := clusters[name]; env != nil {
		return env
	}
	env, err := kubetest.Start()
	if err != nil {
		t.Fatal(err)
	}
	clusters[name] = env
	// The tests read CRDs, which krt's scheme leaves out.
	if err := apiextensionsv1.AddToScheme(env.Scheme); err != nil {
		t.Fatal(err)
	}
	if err := removeKrt(env.Client); err != nil {
		t.Fatalf("removing kubetest's install of krt: %v", err)
	}
	return env
}

// removeKrt deletes the CRDs, admission policies and roles kubetest.Start
// installs from config/, so that the install under test must bring them.
func removeKrt(c client.Client) error {
	ctx := context.Background()
	crds := &apiextensionsv1.CustomResourceDefinitionList{}
	if err := c.List(ctx, crds); err != nil {
		return err
	}
	for i := range crds.Items {
		crd := &crds.Items[i]
		if crd.Spec.Group != "krt.dev" {
			continue
		}
		// The API server's finalizer lists a CRD's objects before it lets
		// the CRD go; while the kind's storage is still initializing that
		// fails, and the retry backs off for minutes. So wait until the
		// kind can be listed.
		list := &unstructured.UnstructuredList{}
		list.SetGroupVersionKind(schema.GroupVersionKind{Group: crd.Spec.Group, Version: crd.Spec.Versions[0].Name, Kind: crd.Spec.Names.ListKind})
		for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(100 * time.Millisecond) {
			err := c.List(ctx, list)
			if err == nil {
				break
			}
			if time.Now().After(deadline) {
				return fmt.Errorf("listing %s: %w", crd.Name, err)
			}
		}
		if err := c.Delete(ctx, crd); err != nil {
			return err
		}
	}
	for _, dir := range []string{"policy", "rbac"} {
		objs, err := decodeFiles(filepath.Join(root, "config", dir, "*.yaml"))
		if err != nil {
			return err
		}
		for _, o := range objs {
			if err := c.Delete(ctx, o); err != nil {
				return err
			}
		}
	}
	// The API server's own finalizer removes a CRD once it has no objects.
	deadline := time.Now().Add(time.Minute)
	for {
		if err := c.List(ctx, crds); err != nil {
			return err
		}
		var left []string
		for _, crd := range crds.Items {
			if crd.Spec.Group == "krt.dev" {
				left = append(left, fmt.Sprintf("%s (finalizers %v, conditions %+v)", crd.Name, crd.Finalizers, crd.Status.Conditions))
			}
		}
		if len(left) == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("krt CRDs still there after a minute: %s", strings.Join(left, "; "))
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// decode splits a YAML stream into objects, skipping empty documents.
func decode(data []byte) ([]*unstructured.Unstructured, error) {
	var out []*unstructured.Unstructured
	dec := utilyaml.NewYAMLOrJSONDecoder(bytes.NewReader(data), 4096)
	for {
		obj := &unstructured.Unstructured{}
		if err := dec.Decode(&obj.Object); errors.Is(err, io.EOF) {
			return out, nil
		} else if err != nil {
			return nil, err
		}
		if len(obj.Object) > 0 {
			out = append(out, obj)
		}
	}
}

func decodeFiles(glob string) ([]*unstructured.Unstructured, error) {
	files, err := filepath.Glob(glob)
	if err != nil {
		return nil, err
	}
	var out []*unstructured.Unstructured
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			return nil, err
		}
		objs, err := decode(data)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", f, err)
		}
		out = append(out, objs...)
	}
	return out, nil
}

// apply installs objs as `kubectl apply --server-side` would, in the order
// an install needs: namespaces, then CRDs (until they are established),
// then the rest. Every object must be accepted.
func apply(t *testing.T, c client.Client, objs []*unstructured.Unstructured) {
	t.Helper()
	rank := func(o *unstructured.Unstructured) int {
		switch o.GetKind() {
		case "Namespace":
			return 0
		case "CustomResourceDefinition":
			return 1
		}
		return 2
	}
	sorted := append([]*unstructured.Unstructured(nil), objs...)
	sort.SliceStable(sorted, func(i, j int) bool { return rank(sorted[i]) < rank(sorted[j]) })
	var crds []string
	for i, o := range sorted {
		if i > 0 && rank(sorted[i-1]) == 1 && rank(o) == 2 {
			waitEstablished(t, c, crds)
		}
		if err := applyOne(c, o); err != nil {
			t.Fatalf("applying %s: %v", describe(o), err)
		}
		if o.GetKind() == "CustomResourceDefinition" {
			crds = append(crds, o.GetName())
		}
	}
	// What was applied is what is there.
	for _, o := range sorted {
		got := &unstructured.Unstructured{}
		got.SetGroupVersionKind(o.GroupVersionKind())
		if err := c.Get(context.Background(), client.ObjectKeyFromObject(o), got); err != nil {
			t.Errorf("%s after the install: %v", describe(o), err)
		}
	}
}

// applyOne is a server-side apply of o, taking over any field another
// manager holds, as `kubectl apply --server-side --force-conflicts` does.
func applyOne(c client.Client, o *unstructured.Unstructured, opts ...client.ApplyOption) error {
	opts = append(opts, client.FieldOwner("krt-install-test"), client.ForceOwnership)
	return c.Apply(context.Background(), client.ApplyConfigurationFromUnstructured(o.DeepCopy()), opts...)
}

// waitEstablished waits until the API server serves each CRD.
func waitEstablished(t *testing.T, c client.Client, names []string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for _, name := range names {
		for {
			crd := &apiextensionsv1.CustomResourceDefinition{}
			err := c.Get(context.Background(), client.ObjectKey{Name: name}, crd)
			if err == nil && condition(crd, apiextensionsv1.Established) {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("CRD %s is not established after 30s (err %v, conditions %+v)", name, err, crd.Status.Conditions)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
}

func condition(crd *apiextensionsv1.CustomResourceDefinition, typ apiextensionsv1.CustomResourceDefinitionConditionType) bool {
	for _, c := range crd.Status.Conditions {
		if c.Type == typ {
			return c.Status == apiextensionsv1.ConditionTrue
		}
	}
	return false
}

func describe(o *unstructured.Unstructured) string {
	if o.GetNamespace() != "" {
		return fmt.Sprintf("%s %s/%s", o.GetKind(), o.GetNamespace(), o.GetName())
	}
	return o.GetKind() + " " + o.GetName()
}

// find returns the one object of kind named name, or fails.
func find(t *testing.T, objs []*unstructured.Unstructured, kind, name string) *unstructured.Unstructured {
	t.Helper()
	for _, o := range objs {
		if o.GetKind() == kind && o.GetName() == name {
			return o
		}
	}
	var have []string
	for _, o := range objs {
		have = append(have, describe(o))
	}
	t.Fatalf("no %s %s among:\n  %s", kind, name, strings.Join(have, "\n  "))
	return nil
}
