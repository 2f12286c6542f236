package devstack

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"

	krtv1 "krt.dev/krt/api/v1alpha1"
)

// labelManaged marks the hub objects `up` keeps in step with its flags,
// so a cluster dropped from --clusters is unregistered again.
const labelManaged = "krt.dev/dev-stack"

// runtimeSpec is a small warm pool: one pod with room for 8 Runs, whose
// artifacts, caches and logs go to the namespace's ArtifactStore.
func runtimeSpec(langs ...krtv1.Language) krtv1.RuntimeSpec {
	return krtv1.RuntimeSpec{Replicas: ptr.To[int32](1), Capacity: 8, Languages: langs, ArtifactStore: storeName}
}

// storeName is the ArtifactStore every namespace of the stack gets.
const storeName = "default"

// artifactStore is a filesystem store in the stack's directory. Every
// cluster's store is the same directory, as an RWX volume would be in a
// real cluster, so a build in the hub hands files to a deploy in prod.
func artifactStore(namespace, dir string) *krtv1.ArtifactStore {
	return &krtv1.ArtifactStore{ObjectMeta: meta(namespace, storeName),
		Spec: krtv1.ArtifactStoreSpec{Filesystem: &krtv1.FilesystemStore{Path: dir}}}
}

var bashPython = []krtv1.Language{krtv1.LanguageBash, krtv1.LanguagePython}

// hubObjects are the hub's default Runtimes, bash and python, which the
// examples' hub steps and `krt run` use.
func hubObjects(storeDir string) []client.Object {
	return []client.Object{
		artifactStore("default", storeDir),
		&krtv1.Runtime{ObjectMeta: meta("default", "bash"), Spec: runtimeSpec(bashPython...)},
		&krtv1.Runtime{ObjectMeta: meta("default", "python"), Spec: runtimeSpec(krtv1.LanguagePython)},
	}
}

// regionsOf says which Cluster objects stand for a workload cluster:
// itself, in namespace default, and for "prod" also prod-eu and prod-us
// (in namespaces of those names), the two regions promote.yaml deploys to.
func regionsOf(cluster string) []Registration {
	regs := []Registration{{Name: cluster, Server: cluster, Namespace: "default"}}
	if cluster == "prod" {
		for _, r := range []string{"prod-eu", "prod-us"} {
			regs = append(regs, Registration{Name: r, Server: cluster, Namespace: r})
		}
	}
	return regs
}

// remoteObjects are a workload cluster's namespaces and Runtimes: a
// `deployer` wherever a region points, and on staging also `bash` with
// the report-token Secret, for seed-dialect.yaml's `runner: staging/bash`.
func remoteObjects(cluster, storeDir string) []client.Object {
	objs := []client.Object{artifactStore("default", storeDir)}
	for _, r := range regionsOf(cluster) {
		if r.Namespace != "default" {
			objs = append(objs, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: r.Namespace}})
		}
		if r.Namespace != "default" {
			objs = append(objs, artifactStore(r.Namespace, storeDir))
		}
		objs = append(objs, &krtv1.Runtime{ObjectMeta: meta(r.Namespace, "deployer"), Spec: runtimeSpec(bashPython...)})
	}
	if cluster == "staging" {
		spec := runtimeSpec(bashPython...)
		spec.Secrets = []string{"report-token"}
		objs = append(objs,
			&corev1.Secret{ObjectMeta: meta("default", "report-token"), StringData: map[string]string{"token": "dev-report-token"}},
			&krtv1.Runtime{ObjectMeta: meta("default", "bash"), Spec: spec})
	}
	return objs
}

// createMissing creates objects that do not exist yet. Existing ones are
// left alone: the user may have changed them since.
func createMissing(ctx context.Context, c client.Client, objs []client.Object) error {
	for _, o := range objs {
		if err := c.Create(ctx, o); err != nil && !apierrors.IsAlreadyExists(err) {
			return fmt.Errorf("creating %T %s: %w", o, o.GetName(), err)
		}
	}
	return nil
}

// register makes a workload cluster known to the hub. Its kubeconfig
// Secret is rewritten on every `up`, since each start of its API server
// brings a new port and new certificates.
func register(ctx context.Context, hub client.Client, r Registration, kubeconfig []byte) error {
	secret := &corev1.Secret{ObjectMeta: meta("default", r.Name+"-kubeconfig")}
	if _, err := controllerutil.CreateOrUpdate(ctx, hub, secret, func() error {
		secret.Labels = map[string]string{labelManaged: "true"}
		secret.Data = map[string][]byte{"value": kubeconfig}
		return nil
	}); err != nil {
		return fmt.Errorf("the kubeconfig Secret of cluster %s: %w", r.Name, err)
	}
	cl := &krtv1.Cluster{ObjectMeta: meta("default", r.Name)}
	_, err := controllerutil.CreateOrUpdate(ctx, hub, cl, func() error {
		cl.Labels = map[string]string{labelManaged: "true"}
		cl.Spec.KubeconfigSecretRef = krtv1.SecretKeySelector{Name: secret.Name, Key: "value"}
		cl.Spec.Namespace = r.Namespace
		return nil
	})
	if err != nil {
		return fmt.Errorf("cluster %s: %w", r.Name, err)
	}
	return nil
}

// unregisterOthers deletes the dev stack's Clusters (and their Secrets)
// that this `up` does not run, so no workflow waits on a dead server.
func unregisterOthers(ctx context.Context, hub client.Client, keep []Registration) error {
	want := map[string]bool{}
	for _, r := range keep {
		want[r.Name] = true
	}
	list := &krtv1.ClusterList{}
	if err := hub.List(ctx, list, client.InNamespace("default"), client.HasLabels{labelManaged}); err != nil {
		return err
	}
	for i := range list.Items {
		cl := &list.Items[i]
		if want[cl.Name] {
			continue
		}
		if err := client.IgnoreNotFound(hub.Delete(ctx, cl)); err != nil {
			return err
		}
		secret := &corev1.Secret{ObjectMeta: meta("default", cl.Name+"-kubeconfig")}
		_ = hub.Delete(ctx, secret)
	}
	return nil
}

// ensureRepository points the WorkflowRepository `examples` at the local
// git server, whose port may differ from the last `up`, with a webhook
// Secret whose random token is made once.
func ensureRepository(ctx context.Context, hub client.Client, url string) error {
	token := make([]byte, 24)
	if _, err := rand.Read(token); err != nil {
		return err
	}
	secret := &corev1.Secret{ObjectMeta: meta(repoNamespace, hookSecret),
		StringData: map[string]string{"token": hex.EncodeToString(token)}}
	if err := createMissing(ctx, hub, []client.Object{secret}); err != nil {
		return err
	}
	repo := &krtv1.WorkflowRepository{ObjectMeta: meta(repoNamespace, repoName)}
	_, err := controllerutil.CreateOrUpdate(ctx, hub, repo, func() error {
		repo.Spec.URL = url
		repo.Spec.Ref = &krtv1.GitRef{Branch: "main"}
		repo.Spec.Path = "workflows"
		// Pushes arrive by webhook; polling is only the fallback.
		repo.Spec.Interval = metav1.Duration{Duration: time.Minute}
		repo.Spec.Webhook = &krtv1.WebhookSpec{SecretRef: krtv1.LocalObjectReference{Name: hookSecret}}
		// A push to refs/pull/N/head arrives as a GitHub pull_request
		// webhook (see pulls.go). generic: there are no commit statuses
		// to report locally.
		repo.Spec.PullRequests = &krtv1.PullRequestPolicy{Enabled: true, Provider: "generic"}
		return nil
	})
	if err != nil {
		return fmt.Errorf("WorkflowRepository %s: %w", repoName, err)
	}
	return nil
}

func webhookSecret(ctx context.Context, hub client.Client) (*corev1.Secret, error) {
	secret := &corev1.Secret{}
	err := hub.Get(ctx, client.ObjectKey{Namespace: repoNamespace, Name: hookSecret}, secret)
	return secret, err
}

func meta(ns, name string) metav1.ObjectMeta { return metav1.ObjectMeta{Namespace: ns, Name: name} }
