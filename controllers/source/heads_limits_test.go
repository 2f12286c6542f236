package source

import (
	"crypto/rand"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
)

// A pull request's head over the fetch limit is an error of the head, not
// a retry, and the server is not read to the end.
func TestReadHeadOverTheFetchLimit(t *testing.T) {
	s, work, hs := headFixture(t)
	hs.h.git.Limits.Fetch = 1 << 20
	blob := make([]byte, 16<<20)
	if _, err := rand.Read(blob); err != nil {
		t.Fatal(err)
	}
	pr := pushHead(t, work, hs, 5, map[string]string{"workflows/checks.yaml": headWorkflow, "assets/blob.bin": string(blob)})
	before := s.Server.Counts()["web"].FetchedBytes
	head, err := hs.Read(testContext(t), pr)
	if err != nil {
		t.Fatalf("a head over the limit is a retry: %v", err)
	}
	errs := head.ErrorsOf("workflows/checks.yaml")
	if len(errs) != 1 || !strings.Contains(errs[0].Message, "more than 1048576 bytes, the limit of one fetch") {
		t.Fatalf("errors = %v, want the fetch limit", head.Errors)
	}
	if sent := s.Server.Counts()["web"].FetchedBytes - before; sent >= int64(len(blob))/2 {
		t.Errorf("the server wrote %d bytes of a %d-byte head", sent, len(blob))
	}
}

// A head whose kustomization names a URL is refused at that entry, and
// nothing is fetched from it.
func TestReadHeadRemoteKustomization(t *testing.T) {
	var requests atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { requests.Add(1) }))
	defer srv.Close()
	_, work, hs := headFixture(t)
	pr := pushHead(t, work, hs, 6, map[string]string{
		"workflows/checks.yaml":        headWorkflow,
		"workflows/kustomization.yaml": "resources: [checks.yaml]\nconfigMapGenerator:\n- name: env\n  files:\n  - " + srv.URL + "/env\n",
	})
	head, err := hs.Read(testContext(t), pr)
	if err != nil {
		t.Fatal(err)
	}
	errs := head.ErrorsOf("workflows/kustomization.yaml (built)")
	if len(errs) != 1 || !strings.Contains(errs[0].Message, "workflows/kustomization.yaml:5: remote reference") {
		t.Errorf("errors = %v, want the kustomization's line 5", head.Errors)
	}
	if n := requests.Load(); n != 0 {
		t.Errorf("building the head sent %d requests", n)
	}
}
