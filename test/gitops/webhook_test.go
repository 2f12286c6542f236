package gitops

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	krtv1 "krt.dev/krt/api/v1alpha1"
	"krt.dev/krt/sources/gitserver"
	"krt.dev/krt/sources/webhook"
)

const hookToken = "hook-token-for-tests"

// With the interval at an hour, only the webhook can explain a new
// revision being applied.
func TestWebhooks(t *testing.T) {
	ns := env.Namespace(t)
	g := serveRepo(t, gitserver.Options{}, map[string]string{"workflows/a.yaml": workflowYAML("a", "v1")})
	first := strings.TrimSpace(g.clone.Run("rev-parse", "HEAD"))
	secret(t, ns, "hook", map[string]string{"token": hookToken})
	repo := repository(t, ns, g.URL, func(r *krtv1.WorkflowRepository) {
		r.Spec.Interval = metav1.Duration{Duration: time.Hour}
		r.Spec.Webhook = &krtv1.WebhookSpec{SecretRef: krtv1.LocalObjectReference{Name: "hook"}}
		r.Spec.PullRequests = &krtv1.PullRequestPolicy{Enabled: true, Provider: "github"}
	})
	cur := waitRevision(t, repo, first)
	if cur.Status.WebhookPath == "" {
		t.Fatal("status.webhookPath is empty")
	}
	url := hookURL + cur.Status.WebhookPath

	t.Run("GitHub push", func(t *testing.T) {
		sha := g.push(map[string]string{"workflows/b.yaml": workflowYAML("b", "v1")}, "add b")
		body := fmt.Sprintf(`{"ref":"refs/heads/main","before":%q,"after":%q}`, first, sha)
		code := post(t, url, body, map[string]string{
			"X-GitHub-Event": "push", "X-Hub-Signature-256": webhook.SignatureHeader([]byte(body), []byte(hookToken))})
		if code != http.StatusAccepted {
			t.Fatalf("status %d, want 202", code)
		}
		waitRevision(t, repo, sha)
		mustWorkflow(t, ns, "b")
	})

	t.Run("wrong signature", func(t *testing.T) {
		before := getRepo(t, repo)
		sha := g.push(map[string]string{"workflows/c.yaml": workflowYAML("c", "v1")}, "add c")
		body := fmt.Sprintf(`{"ref":"refs/heads/main","after":%q}`, sha)
		code := post(t, url, body, map[string]string{
			"X-GitHub-Event": "push", "X-Hub-Signature-256": webhook.SignatureHeader([]byte(body), []byte("not the token"))})
		if code != http.StatusUnauthorized {
			t.Fatalf("status %d, want 401", code)
		}
		// The receiver writes before it answers, so an unchanged object now
		// means it changed nothing.
		after := getRepo(t, repo)
		if after.ResourceVersion != before.ResourceVersion {
			t.Errorf("a refused webhook changed the repository: %v -> %v", before.Annotations, after.Annotations)
		}
		if _, err := getWorkflow(t, ns, "c"); err == nil {
			t.Error("a refused webhook led to a reconcile")
		}
	})

	// The repository receives GitHub webhooks: the right secret, sent the
	// way GitLab sends it, is refused.
	t.Run("GitLab token to a GitHub repository", func(t *testing.T) {
		before := getRepo(t, repo)
		sha := g.push(map[string]string{"workflows/d.yaml": workflowYAML("d", "v1")}, "add d")
		body := fmt.Sprintf(`{"object_kind":"push","ref":"refs/heads/main","after":%q}`, sha)
		code := post(t, url, body, map[string]string{"X-Gitlab-Event": "Push Hook", "X-Gitlab-Token": hookToken})
		if code != http.StatusUnauthorized {
			t.Fatalf("status %d, want 401", code)
		}
		if after := getRepo(t, repo); after.ResourceVersion != before.ResourceVersion {
			t.Errorf("a refused webhook changed the repository: %v -> %v", before.Annotations, after.Annotations)
		}
		if _, err := getWorkflow(t, ns, "d"); err == nil {
			t.Error("a refused webhook led to a reconcile")
		}
	})

	t.Run("GitHub pull request", func(t *testing.T) {
		body := `{"action":"opened","number":7,"sender":{"login":"outsider"},"pull_request":{"draft":true,"user":{"login":"outsider"},
			"head":{"sha":"0123456789abcdef0123456789abcdef01234567","ref":"feature","repo":{"full_name":"outsider/flows"}},
			"base":{"ref":"main","repo":{"full_name":"team/flows"}}}}`
		code := post(t, url, body, map[string]string{
			"X-GitHub-Event": "pull_request", "X-Hub-Signature-256": webhook.SignatureHeader([]byte(body), []byte(hookToken))})
		if code != http.StatusAccepted {
			t.Fatalf("status %d, want 202", code)
		}
		prs := getRepo(t, repo).Status.PullRequests
		if len(prs) != 1 {
			t.Fatalf("recorded pull requests %+v, want PR 7", prs)
		}
		pr := prs[0]
		want := krtv1.PullRequest{Number: 7, HeadSHA: "0123456789abcdef0123456789abcdef01234567", HeadRef: "feature",
			Base: "main", Author: "outsider", PushedBy: "outsider", Fork: true, Draft: true, Action: "opened", UpdatedAt: pr.UpdatedAt}
		if pr != want {
			t.Errorf("recorded %+v\nwant      %+v", pr, want)
		}
	})
}

// A repository that receives GitLab webhooks takes GitLab's token, and
// refuses a GitHub signature made with the same secret.
func TestGitLabWebhooks(t *testing.T) {
	ns := env.Namespace(t)
	g := serveRepo(t, gitserver.Options{}, map[string]string{"workflows/a.yaml": workflowYAML("a", "v1")})
	first := strings.TrimSpace(g.clone.Run("rev-parse", "HEAD"))
	secret(t, ns, "hook", map[string]string{"token": hookToken})
	repo := repository(t, ns, g.URL, func(r *krtv1.WorkflowRepository) {
		r.Spec.Interval = metav1.Duration{Duration: time.Hour}
		r.Spec.Webhook = &krtv1.WebhookSpec{SecretRef: krtv1.LocalObjectReference{Name: "hook"}, Provider: "gitlab"}
	})
	url := hookURL + waitRevision(t, repo, first).Status.WebhookPath

	sha := g.push(map[string]string{"workflows/b.yaml": workflowYAML("b", "v1")}, "add b")
	body := fmt.Sprintf(`{"ref":"refs/heads/main","after":%q}`, sha)
	before := getRepo(t, repo)
	code := post(t, url, body, map[string]string{
		"X-GitHub-Event": "push", "X-Hub-Signature-256": webhook.SignatureHeader([]byte(body), []byte(hookToken))})
	if code != http.StatusUnauthorized {
		t.Fatalf("a GitHub signature answered %d, want 401", code)
	}
	if after := getRepo(t, repo); after.ResourceVersion != before.ResourceVersion {
		t.Errorf("a refused webhook changed the repository")
	}
	code = post(t, url, body, map[string]string{"X-Gitlab-Event": "Push Hook", "X-Gitlab-Token": hookToken})
	if code != http.StatusAccepted {
		t.Fatalf("status %d, want 202", code)
	}
	waitRevision(t, repo, sha)
	mustWorkflow(t, ns, "b")
}

func post(t *testing.T, url, body string, headers map[string]string) int {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url, bytes.NewBufferString(body))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	msg, _ := io.ReadAll(resp.Body)
	if resp.StatusCode >= 300 {
		t.Logf("webhook answered %d: %s", resp.StatusCode, msg)
	}
	return resp.StatusCode
}
