package gitops

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/fluxcd/pkg/apis/meta"
	sourcev1 "github.com/fluxcd/source-controller/api/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	krtv1 "krt.dev/krt/api/v1alpha1"
)

// A Flux GitRepository's artifact is consumed in place of a clone; a
// tampered digest is refused with a clear condition.
func TestFluxGitRepositoryArtifact(t *testing.T) {
	ns := env.Namespace(t)
	tarball := tarGz(t, map[string]string{"workflows/flux.yaml": workflowYAML("from-flux", "v1")})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write(tarball) }))
	t.Cleanup(srv.Close)
	sum := sha256.Sum256(tarball)
	digest := "sha256:" + hex.EncodeToString(sum[:])

	fluxSource(t, ns, "good", srv.URL+"/good.tar.gz", digest)
	repo := repository(t, ns, "", func(r *krtv1.WorkflowRepository) {
		r.Name = "via-flux"
		r.Spec.URL, r.Spec.Ref = "", nil
		r.Spec.SourceRef = &krtv1.SourceReference{Kind: sourcev1.GitRepositoryKind, Name: "good"}
	})
	waitRevision(t, repo, "deadbeef")
	if wf := mustWorkflow(t, ns, "from-flux"); wf.Annotations[krtv1.AnnotationRevision] != "main@sha1:deadbeef" {
		t.Errorf("revision annotation %q", wf.Annotations[krtv1.AnnotationRevision])
	}

	fluxSource(t, ns, "tampered", srv.URL+"/tampered.tar.gz", "sha256:"+hex.EncodeToString(make([]byte, 32)))
	bad := repository(t, ns, "", func(r *krtv1.WorkflowRepository) {
		r.Name = "tampered"
		r.Spec.URL, r.Spec.Ref = "", nil
		r.Spec.SourceRef = &krtv1.SourceReference{Kind: sourcev1.GitRepositoryKind, Name: "tampered"}
	})
	waitCondition(t, bad, krtv1.ConditionFetchFailed, metav1.ConditionTrue, "digest")
}

// Flux's reconcile.fluxcd.io/requestedAt annotation, as a Flux Receiver
// sets it, makes krt reconcile at once.
func TestRequestedAtTriggersAReconcile(t *testing.T) {
	ns := env.Namespace(t)
	tarball := tarGz(t, map[string]string{"workflows/a.yaml": workflowYAML("a", "v1")})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write(tarball) }))
	t.Cleanup(srv.Close)
	sum := sha256.Sum256(tarball)
	fluxSource(t, ns, "src", srv.URL+"/a.tar.gz", "sha256:"+hex.EncodeToString(sum[:]))
	repo := repository(t, ns, "", func(r *krtv1.WorkflowRepository) {
		r.Spec.URL, r.Spec.Ref = "", nil
		r.Spec.Interval = metav1.Duration{Duration: time.Hour}
		r.Spec.SourceRef = &krtv1.SourceReference{Kind: sourcev1.GitRepositoryKind, Name: "src"}
	})
	waitRevision(t, repo, "deadbeef")

	const requested = "2026-11-23T12:00:00Z"
	patch := client.MergeFrom(getRepo(t, repo).DeepCopy())
	cur := getRepo(t, repo)
	cur.Annotations = map[string]string{meta.ReconcileRequestAnnotation: requested}
	if err := env.Client.Patch(t.Context(), cur, patch); err != nil {
		t.Fatal(err)
	}
	eventually(t, 30*time.Second, "lastHandledReconcileAt = "+requested, func() (bool, string) {
		got := getRepo(t, repo).Status.LastHandledReconcileAt
		return got == requested, "it is " + got
	})
}

// fluxSource creates a Flux GitRepository whose status carries an
// artifact, as Flux's source-controller would publish it.
func fluxSource(t *testing.T, ns, name, url, digest string) {
	t.Helper()
	src := &sourcev1.GitRepository{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
		Spec:       sourcev1.GitRepositorySpec{URL: "https://example.invalid/flows.git", Interval: metav1.Duration{Duration: time.Hour}},
	}
	if err := env.Client.Create(t.Context(), src); err != nil {
		t.Fatal(err)
	}
	now := metav1.Now()
	src.Status.Artifact = &meta.Artifact{
		Path: "gitrepository/" + ns + "/" + name + "/deadbeef.tar.gz", URL: url,
		Revision: "main@sha1:deadbeef", Digest: digest, LastUpdateTime: now,
	}
	if err := env.Client.Status().Update(t.Context(), src); err != nil {
		t.Fatal(err)
	}
}

func tarGz(t *testing.T, files map[string]string) []byte {
	t.Helper()
	var buf bytes.Buffer
	gz := gzip.NewWriter(&buf)
	tw := tar.NewWriter(gz)
	for name, content := range files {
		if err := tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: int64(len(content)), Typeflag: tar.TypeReg}); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write([]byte(content)); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := gz.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}
