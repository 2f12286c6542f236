package security

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	krtv1 "krt.dev/krt/api/v1alpha1"
	"krt.dev/krt/sources/gitserver"
	"krt.dev/krt/sources/gitserver/gittest"
	"krt.dev/krt/workflows/runs"
)

// runURLTemplate is the suite controller's --run-url.
const runURLTemplate = "https://krt.example.com/runs/{{.Namespace}}/{{.Name}}"

// leakyWorkflow fails a push run after printing a secret-looking line to
// stderr: the stderr tail becomes the Run's message, and the run's.
const leakyWorkflow = `apiVersion: krt.dev/v1alpha1
kind: Workflow
metadata:
  name: build
spec:
  on:
    push:
      branches: [main]
  steps:
    - name: build
      runtime: bash
      run: |
        echo "aws_secret_access_key=%s" >&2
        exit 1
`

// forge is a local GitLab API that records the commit statuses posted.
type forge struct {
	*httptest.Server
	mu       sync.Mutex
	statuses []map[string]string
	raw      []string
}

func newForge(t *testing.T) *forge {
	f := &forge{}
	f.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		status := map[string]string{}
		_ = json.Unmarshal(body, &status)
		status["path"] = r.URL.EscapedPath()
		f.mu.Lock()
		f.statuses, f.raw = append(f.statuses, status), append(f.raw, r.URL.String()+" "+string(body))
		f.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"id":1}`))
	}))
	t.Cleanup(f.Close)
	return f
}

func (f *forge) seen() ([]map[string]string, string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]map[string]string(nil), f.statuses...), strings.Join(f.raw, "\n")
}

// A push run whose step fails after printing a secret-looking line to
// stderr. Its commit status, posted to a local forge, says the phase
// and links to the run; nothing a step printed reaches the forge, where
// on a public repository anyone could read it.
func TestCommitStatusCarriesNoOutput(t *testing.T) {
	ctx := context.Background()
	ns := env.Namespace(t)
	createBashRuntime(t, ns)
	api := newForge(t)
	createSecret(t, ns, "forge", map[string]string{"username": "oauth2", "password": "forge-token"})
	secret := "krtLEAK" + randomText(t, 32)

	served := gittest.Serve(t, gitserver.Options{}, "flows")
	clone := gittest.NewClone(t, served.URL)
	clone.Write(map[string]string{"workflows/build.yaml": fmt.Sprintf(leakyWorkflow, secret)})
	first := clone.Commit("the build workflow")
	clone.Push("HEAD:refs/heads/main")
	repo := &krtv1.WorkflowRepository{ObjectMeta: metav1.ObjectMeta{Name: "flows", Namespace: ns},
		Spec: krtv1.WorkflowRepositorySpec{URL: served.URL, Ref: &krtv1.GitRef{Branch: "main"},
			Interval: metav1.Duration{Duration: time.Second}, SecretRef: &krtv1.LocalObjectReference{Name: "forge"},
			PullRequests: &krtv1.PullRequestPolicy{Provider: "gitlab", APIURL: api.URL + "/api/v4"}}}
	if err := env.Client.Create(ctx, repo); err != nil {
		t.Fatal(err)
	}
	// A push is a revision after the one the repository was first read at.
	eventually(t, time.Minute, "the repository to apply "+first[:7], func() bool {
		cur := &krtv1.WorkflowRepository{}
		return env.Client.Get(ctx, client.ObjectKeyFromObject(repo), cur) == nil && cur.Status.Artifact != nil &&
			strings.HasSuffix(cur.Status.Artifact.Revision, first) &&
			env.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: "build"}, &krtv1.Workflow{}) == nil
	})
	clone.Write(map[string]string{"README.md": "a push\n"})
	sha := clone.Commit("a push")
	clone.Push("HEAD:refs/heads/main")

	name := runs.Name("build", "push-"+sha[:7])
	wr := exprWaitRun(t, ns, name, 2*time.Minute)
	// The output did reach the run: the status had it to leak.
	if wr.Status.Phase != krtv1.WorkflowFailed || !strings.Contains(wr.Status.Message+exprNode(wr, "build").Message, secret) {
		t.Fatalf("run %s ended %s %q; want Failed, quoting the step's stderr", name, wr.Status.Phase, wr.Status.Message)
	}
	path := "/api/v4/projects/flows/statuses/" + sha
	var statuses []map[string]string
	eventually(t, time.Minute, "the failed status at "+path, func() bool {
		statuses, _ = api.seen()
		for _, s := range statuses {
			if s["path"] == path && s["state"] == "failed" {
				return true
			}
		}
		return false
	})
	link := "https://krt.example.com/runs/" + ns + "/" + name
	for _, s := range statuses {
		if s["path"] != path {
			continue
		}
		if s["name"] != "krt/build" || s["target_url"] != link || !phaseWords[s["description"]] {
			t.Errorf("status %v: want name krt/build, target_url %s and a phase as its description", s, link)
		}
	}
	// Nor any piece of the secret, anywhere in what the forge received.
	_, raw := api.seen()
	if leak, ok := leakedWindow(secret, raw, 8); ok {
		t.Errorf("the forge received %q, a piece of what the step printed:\n%s", leak, raw)
	}
}

// phaseWords are the descriptions a commit status may carry.
var phaseWords = map[string]bool{"queued": true, "waiting for approval": true, "running": true,
	"succeeded": true, "failed": true, "cancelled": true}
