package gitops

import (
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/fluxcd/pkg/apis/meta"
	sourcev1 "github.com/fluxcd/source-controller/api/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	krtv1 "krt.dev/krt/api/v1alpha1"
)

// A Flux ExternalArtifact is read like a GitRepository's artifact, and a
// new artifact is applied as soon as its producer publishes it. The
// repository's interval is an hour, so only a watch on ExternalArtifacts
// explains the second revision: the stack runs krt-controller with
// --flux=auto against an API server with Flux's CRDs, which must turn
// those watches on.
func TestFluxExternalArtifact(t *testing.T) {
	ns := env.Namespace(t)
	srv := serveArtifacts(t, map[string]map[string]string{
		"/v1.tar.gz": {"workflows/ext.yaml": workflowYAML("from-artifact", "v1"), "other/ignored.yaml": "not read"},
		"/v2.tar.gz": {"workflows/ext.yaml": workflowYAML("from-artifact", "v2")},
	})
	ext := &sourcev1.ExternalArtifact{ObjectMeta: metav1.ObjectMeta{Name: "ext", Namespace: ns}}
	if err := env.Client.Create(t.Context(), ext); err != nil {
		t.Fatal(err)
	}
	publish(t, ext, srv, "/v1.tar.gz", "main@sha1:1111111")
	repo := repository(t, ns, "", func(r *krtv1.WorkflowRepository) {
		r.Spec.URL, r.Spec.Ref = "", nil
		r.Spec.Interval = metav1.Duration{Duration: time.Hour}
		r.Spec.SourceRef = &krtv1.SourceReference{Kind: sourcev1.ExternalArtifactKind, Name: "ext"}
	})
	if cur := waitRevision(t, repo, "1111111"); len(cur.Status.ParseErrors) > 0 {
		t.Errorf("files outside workflows/ were read: %+v", cur.Status.ParseErrors)
	}
	wantRun(t, ns, "from-artifact", "v1", "main@sha1:1111111")

	publish(t, ext, srv, "/v2.tar.gz", "main@sha1:2222222")
	waitRevision(t, repo, "2222222")
	wantRun(t, ns, "from-artifact", "v2", "main@sha1:2222222")
}

// wantRun checks that a Workflow runs msg and was last changed at revision.
func wantRun(t *testing.T, ns, name, msg, revision string) {
	t.Helper()
	wf := mustWorkflow(t, ns, name)
	if run := wf.Spec.Steps[0].Run; !strings.Contains(run, msg) {
		t.Errorf("workflow %s runs %q, want %q", name, run, msg)
	}
	if got := wf.Annotations[krtv1.AnnotationRevision]; got != revision {
		t.Errorf("workflow %s at revision %q, want %q", name, got, revision)
	}
}

// serveArtifacts serves a tarball of each set of files at its path.
func serveArtifacts(t *testing.T, tarballs map[string]map[string]string) *httptest.Server {
	t.Helper()
	data := map[string][]byte{}
	for path, files := range tarballs {
		data[path] = tarGz(t, files)
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, ok := data[r.URL.Path]
		if !ok {
			http.NotFound(w, r)
			return
		}
		_, _ = w.Write(body)
	}))
	t.Cleanup(srv.Close)
	return srv
}

// publish sets the ExternalArtifact's artifact to the tarball at path, as
// the controller that produces it would.
func publish(t *testing.T, ext *sourcev1.ExternalArtifact, srv *httptest.Server, path, revision string) {
	t.Helper()
	resp, err := http.Get(srv.URL + path)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	h := sha256.New()
	if _, err := io.Copy(h, resp.Body); err != nil {
		t.Fatal(err)
	}
	if err := env.Client.Get(t.Context(), client.ObjectKeyFromObject(ext), ext); err != nil {
		t.Fatal(err)
	}
	ext.Status.Artifact = &meta.Artifact{
		Path: "externalartifact/" + ext.Namespace + "/" + ext.Name + path, URL: srv.URL + path,
		Revision: revision, Digest: "sha256:" + hex.EncodeToString(h.Sum(nil)), LastUpdateTime: metav1.Now(),
	}
	if err := env.Client.Status().Update(t.Context(), ext); err != nil {
		t.Fatal(err)
	}
}
