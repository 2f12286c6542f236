package gitops

import (
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	sourcev1 "github.com/fluxcd/source-controller/api/v1"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	krtv1 "krt.dev/krt/api/v1alpha1"
)

// artifactServer serves a tarball of one workflow and counts requests.
func artifactServer(t *testing.T) (url, digest string, requests *atomic.Int64) {
	t.Helper()
	tarball := tarGz(t, map[string]string{"workflows/a.yaml": workflowYAML("from-flux", "v1")})
	requests = &atomic.Int64{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		requests.Add(1)
		_, _ = w.Write(tarball)
	}))
	t.Cleanup(srv.Close)
	sum := sha256.Sum256(tarball)
	return srv.URL, "sha256:" + hex.EncodeToString(sum[:]), requests
}

// A repository may not read a Flux source of another namespace: another
// tenant's source, or a platform one, is not its to build from.
func TestAttackCrossNamespaceSourceRefIsRefused(t *testing.T) {
	url, digest, requests := artifactServer(t)
	platform := env.Namespace(t)
	fluxSource(t, platform, "platform-flows", url+"/a.tar.gz", digest)
	tenant := env.Namespace(t)
	repo := repository(t, tenant, "", func(r *krtv1.WorkflowRepository) {
		r.Spec.URL, r.Spec.Ref = "", nil
		r.Spec.SourceRef = &krtv1.SourceReference{Kind: sourcev1.GitRepositoryKind, Name: "platform-flows", Namespace: platform}
	})
	cond := waitCondition(t, repo, krtv1.ConditionStalled, metav1.ConditionTrue, "cross-namespace references are refused")
	if !strings.Contains(cond.Message, platform+"/platform-flows") || !strings.Contains(cond.Message, "--allow-cross-namespace-refs") {
		t.Errorf("Stalled: %s", cond.Message)
	}
	if n := requests.Load(); n != 0 {
		t.Errorf("the other namespace's artifact was downloaded %d times", n)
	}
	if _, err := getWorkflow(t, tenant, "from-flux"); err == nil {
		t.Error("the other namespace's workflow was applied")
	}
}

// An artifact URL on a host that is not Flux's source-controller is never
// contacted: whoever writes a source's status does not choose what
// krt-controller connects to.
func TestAttackArtifactOnAnotherHostIsRefused(t *testing.T) {
	url, digest, requests := artifactServer(t)
	ns := env.Namespace(t)
	// The same server, by a name --artifact-hosts does not list.
	fluxSource(t, ns, "elsewhere", strings.Replace(url, "127.0.0.1", "localhost", 1)+"/a.tar.gz", digest)
	repo := repository(t, ns, "", func(r *krtv1.WorkflowRepository) {
		r.Spec.URL, r.Spec.Ref = "", nil
		r.Spec.SourceRef = &krtv1.SourceReference{Kind: sourcev1.GitRepositoryKind, Name: "elsewhere"}
	})
	cond := waitCondition(t, repo, krtv1.ConditionFetchFailed, metav1.ConditionTrue, "is not one of the hosts krt downloads artifacts from")
	if !strings.Contains(cond.Message, "localhost") || !strings.Contains(cond.Message, "--artifact-hosts") {
		t.Errorf("FetchFailed: %s", cond.Message)
	}
	if n := requests.Load(); n != 0 {
		t.Errorf("the artifact host got %d requests", n)
	}
	if ready := apimeta.FindStatusCondition(getRepo(t, repo).Status.Conditions, krtv1.ConditionReady); ready == nil || ready.Status != metav1.ConditionFalse {
		t.Errorf("Ready = %+v", ready)
	}
}
