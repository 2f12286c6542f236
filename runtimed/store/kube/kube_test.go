package kube

import (
	"context"
	"errors"
	"path/filepath"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"

	"krt.dev/krt/api/scheme"
	krtv1 "krt.dev/krt/api/v1alpha1"
	"krt.dev/krt/runtimed/store"
)

func TestOptionsReadTheSecret(t *testing.T) {
	secret := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "keys", ResourceVersion: "7"},
		Data: map[string][]byte{KeyAccessKeyID: []byte("id"), KeySecretAccessKey: []byte("key"), KeySessionToken: []byte("tok")}}
	c := fake.NewClientBuilder().WithScheme(scheme.New()).WithObjects(secret).Build()
	as := &krtv1.ArtifactStore{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "s3", ResourceVersion: "3"},
		Spec: krtv1.ArtifactStoreSpec{S3: &krtv1.S3Store{Bucket: "b", Endpoint: "http://x", CredentialsSecret: "keys"}}}
	opts, version, err := Options(context.Background(), c, as)
	if err != nil {
		t.Fatal(err)
	}
	if opts.S3 == nil || opts.S3.AccessKeyID != "id" || opts.S3.SecretAccessKey != "key" || opts.S3.SessionToken != "tok" || opts.Name != "ns/s3" {
		t.Errorf("options = %+v", opts.S3)
	}
	if version == "3" || version == "" {
		t.Errorf("version %q must change with the Secret too", version)
	}
	as.Spec.S3.CredentialsSecret = "missing"
	if _, _, err := Options(context.Background(), c, as); err == nil {
		t.Error("a missing Secret must fail")
	}
}

func TestOpenRefusesAMissingDirectory(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "not-mounted")
	as := &krtv1.ArtifactStore{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "files"},
		Spec: krtv1.ArtifactStoreSpec{Filesystem: &krtv1.FilesystemStore{Path: missing, ClaimName: "rwx"}}}
	_, err := Open(context.Background(), nil, as)
	if !errors.Is(err, store.ErrUnreachable) {
		t.Fatalf("Open = %v, want ErrUnreachable", err)
	}
	as.Spec.Filesystem.Path = t.TempDir()
	s, err := Open(context.Background(), nil, as)
	if err != nil {
		t.Fatal(err)
	}
	_ = s.Close()
}
