// Package kube opens the store an ArtifactStore describes, reading its
// credentials Secret with the caller's client. runtimed, the maintainer and
// the CLI share it, each with its own identity: runtimed's Role names the
// Secret, the maintainer's ClusterRole may get Secrets, and the CLI uses
// the user's kubeconfig, so RBAC decides who may reach the store.
package kube

import (
	"context"
	"fmt"
	"os"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	krtv1 "krt.dev/krt/api/v1alpha1"
	"krt.dev/krt/runtimed/store"
)

// Secret keys of an S3 store's credentials.
const (
	KeyAccessKeyID     = "AWS_ACCESS_KEY_ID"
	KeySecretAccessKey = "AWS_SECRET_ACCESS_KEY"
	KeySessionToken    = "AWS_SESSION_TOKEN"
)

// Options are the store.Options of as, and a version that changes when as
// or its Secret does, so that a caller keeping the store open knows when
// to open it again.
func Options(ctx context.Context, c client.Reader, as *krtv1.ArtifactStore) (store.Options, string, error) {
	opts := store.Options{Name: as.Namespace + "/" + as.Name}
	version := as.ResourceVersion
	if fs := as.Spec.Filesystem; fs != nil {
		opts.Dir = fs.Path
		return opts, version, nil
	}
	s3 := as.Spec.S3
	if s3 == nil {
		return opts, "", fmt.Errorf("ArtifactStore %s/%s has neither filesystem nor s3", as.Namespace, as.Name)
	}
	secret := &corev1.Secret{}
	if err := c.Get(ctx, types.NamespacedName{Namespace: as.Namespace, Name: s3.CredentialsSecret}, secret); err != nil {
		return opts, "", fmt.Errorf("ArtifactStore %s/%s: reading its credentials Secret %q: %w", as.Namespace, as.Name, s3.CredentialsSecret, err)
	}
	opts.S3 = &store.S3{Bucket: s3.Bucket, Endpoint: s3.Endpoint, Region: s3.Region, Prefix: s3.Prefix, ForcePathStyle: s3.ForcePathStyle,
		AccessKeyID: string(secret.Data[KeyAccessKeyID]), SecretAccessKey: string(secret.Data[KeySecretAccessKey]),
		SessionToken: string(secret.Data[KeySessionToken])}
	return opts, version + "/" + secret.ResourceVersion, nil
}

// Open opens the store of as for a reader that did not make it: the
// maintainer, the CLI. It does not touch the network (store.Open): an
// unreachable S3 store fails on its first use. A filesystem store must
// already be a directory here, since store.Open would make an empty one:
// a claim mounted only in runtimed's container is not the maintainer's or
// the user's to see, and sweeping or reading an empty stand-in would say
// nothing is there.
func Open(ctx context.Context, c client.Reader, as *krtv1.ArtifactStore) (*store.Store, error) {
	opts, _, err := Options(ctx, c, as)
	if err != nil {
		return nil, err
	}
	if opts.Dir != "" {
		if fi, err := os.Stat(opts.Dir); err != nil || !fi.IsDir() {
			return nil, fmt.Errorf("%w: ArtifactStore %s/%s is the directory %s, which is not here: a filesystem store is reachable only "+
				"where it is mounted (runtimed's container, for a claimName), or shared (the dev stack)", store.ErrUnreachable, as.Namespace, as.Name, opts.Dir)
		}
	}
	return store.Open(ctx, opts)
}

// Get reads the ArtifactStore namespace/name and opens its store.
func Get(ctx context.Context, c client.Reader, namespace, name string) (*krtv1.ArtifactStore, *store.Store, error) {
	as := &krtv1.ArtifactStore{}
	if err := c.Get(ctx, types.NamespacedName{Namespace: namespace, Name: name}, as); err != nil {
		return nil, nil, fmt.Errorf("reading ArtifactStore %s/%s: %w", namespace, name, err)
	}
	s, err := Open(ctx, c, as)
	if err != nil {
		return nil, nil, err
	}
	return as, s, nil
}
