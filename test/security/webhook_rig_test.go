package security

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	krtv1 "krt.dev/krt/api/v1alpha1"
	"krt.dev/krt/sources/gitserver"
	"krt.dev/krt/sources/gitserver/gittest"
	"krt.dev/krt/sources/webhook"
	"krt.dev/krt/test/kubetest"
)

// hookRig is what the webhook attacks share: a namespace with a bash
// Runtime, the webhook Secret, and two more krt-controller replicas whose
// receivers take the deliveries. The suite's krt-controller, with every
// controller, does the rest.
type hookRig struct {
	ns        string
	token     string
	receivers []string // base URLs, one per replica
}

func newHookRig(t *testing.T) *hookRig {
	t.Helper()
	rig := &hookRig{ns: env.Namespace(t), token: "webhook-attack-token"}
	createSecret(t, rig.ns, "hook", map[string]string{"token": rig.token})
	createBashRuntime(t, rig.ns)
	for _, name := range []string{"a", "b"} {
		rig.receivers = append(rig.receivers, startReceiver(t, rig.ns, name))
	}
	return rig
}

// startReceiver starts a krt-controller replica as another pod of the
// Deployment would run: its own process and cache, the install's
// ServiceAccount. It runs the source controller, which serves the
// receiver, confined to ns so that the suite's other repositories are not
// reconciled twice.
func startReceiver(t *testing.T, ns, name string) string {
	t.Helper()
	addr, err := kubetest.FreeAddress()
	if err != nil {
		t.Fatal(err)
	}
	p, err := kubetest.StartProcess(env.Dir, "krt-controller-"+ns+"-"+name, bins.Controller,
		"--kubeconfig", stack.ControllerKubeconfig, "--controllers", "source", "--watch-namespaces", ns,
		"--webhook-bind-address", addr, "--metrics-bind-address", "0", "--health-probe-bind-address", "0",
		"--git-cache-dir", filepath.Join(t.TempDir(), "git-cache"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Stop)
	eventually(t, time.Minute, "replica "+name+"'s receiver to listen", func() bool {
		conn, err := net.Dial("tcp", addr)
		if err == nil {
			conn.Close()
		}
		return err == nil || p.Exited()
	})
	if p.Exited() {
		t.Fatalf("replica %s exited:\n%s", name, p.Tail(20))
	}
	return "http://" + addr
}

// hookRepo is a repository served over real git, followed by a
// WorkflowRepository that receives webhooks.
type hookRepo struct {
	rig   *hookRig
	key   client.ObjectKey
	clone *gittest.Clone
	path  string
	base  string // the base branch's head commit
}

// repository serves files on main and follows them with a
// WorkflowRepository named name, shaped by mutate. It returns once the
// named workflows are applied and every replica's receiver knows the
// repository (an unsigned delivery is refused there, not unknown).
func (rig *hookRig) repository(t *testing.T, name string, files map[string]string, mutate func(*krtv1.WorkflowRepositorySpec), workflows ...string) *hookRepo {
	t.Helper()
	ctx := context.Background()
	srv := gittest.Serve(t, gitserver.Options{}, name)
	h := &hookRepo{rig: rig, key: client.ObjectKey{Namespace: rig.ns, Name: name}, clone: gittest.NewClone(t, srv.URL)}
	h.clone.Write(files)
	h.base = h.clone.Commit("workflows")
	h.clone.Push("HEAD:refs/heads/main")
	repo := &krtv1.WorkflowRepository{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: rig.ns},
		Spec: krtv1.WorkflowRepositorySpec{URL: srv.URL, Ref: &krtv1.GitRef{Branch: "main"}, Path: "workflows",
			// Only webhooks explain what the repository records.
			Interval: metav1.Duration{Duration: time.Hour},
			Webhook:  &krtv1.WebhookSpec{SecretRef: krtv1.LocalObjectReference{Name: "hook"}}}}
	mutate(&repo.Spec)
	if err := env.Client.Create(ctx, repo); err != nil {
		t.Fatal(err)
	}
	eventually(t, time.Minute, fmt.Sprintf("%s to apply %v", name, workflows), func() bool {
		cur := h.get(t)
		for _, wf := range workflows {
			if env.Client.Get(ctx, client.ObjectKey{Namespace: rig.ns, Name: wf}, &krtv1.Workflow{}) != nil {
				return false
			}
		}
		h.path = cur.Status.WebhookPath
		return h.path != ""
	})
	for i := range rig.receivers {
		eventually(t, time.Minute, fmt.Sprintf("replica %d to know %s", i, name), func() bool {
			code, _ := h.deliver(t, i, nil, "{}")
			return code == http.StatusUnauthorized
		})
	}
	return h
}

func (h *hookRepo) get(t *testing.T) *krtv1.WorkflowRepository {
	t.Helper()
	cur := &krtv1.WorkflowRepository{}
	if err := env.Client.Get(context.Background(), h.key, cur); err != nil {
		t.Fatal(err)
	}
	return cur
}

// pr is the repository's record of PR n, or nil.
func (h *hookRepo) pr(t *testing.T, n int64) *krtv1.PullRequest {
	t.Helper()
	for _, pr := range h.get(t).Status.PullRequests {
		if pr.Number == n {
			return &pr
		}
	}
	return nil
}

// pushHead commits a change on a branch off main and pushes it to ref, as
// a PR's head; it returns the commit.
func (h *hookRepo) pushHead(t *testing.T, branch, ref string, files map[string]string) string {
	t.Helper()
	if files == nil {
		files = map[string]string{"change.txt": fmt.Sprintf("%s at %s\n", branch, time.Now().Format(time.RFC3339Nano))}
	}
	h.clone.Run("checkout", "--quiet", "-B", branch, "main")
	h.clone.Write(files)
	sha := h.clone.Commit("change on " + branch)
	h.clone.Push("+HEAD:" + ref)
	return sha
}

// deliver posts body with headers to replica i's receiver for the
// repository, and returns the status and the answer.
func (h *hookRepo) deliver(t *testing.T, i int, headers map[string]string, body string) (int, string) {
	t.Helper()
	code, msg, err := h.post(i, headers, body)
	if err != nil {
		t.Fatal(err)
	}
	return code, msg
}

// post is deliver for any goroutine.
func (h *hookRepo) post(i int, headers map[string]string, body string) (int, string, error) {
	req, err := http.NewRequest(http.MethodPost, h.rig.receivers[i]+h.path, bytes.NewBufferString(body))
	if err != nil {
		return 0, "", err
	}
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	msg, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, strings.TrimSpace(string(msg)), nil
}

// mustDeliver delivers and expects the status want.
func (h *hookRepo) mustDeliver(t *testing.T, i int, headers map[string]string, body string, want int) {
	t.Helper()
	if code, msg := h.deliver(t, i, headers, body); code != want {
		t.Fatalf("replica %d answered %d %q, want %d", i, code, msg, want)
	}
}

// github are the headers GitHub sends with a body, signed with token.
func github(event, token, body string) map[string]string {
	return map[string]string{"X-GitHub-Event": event, "X-GitHub-Delivery": fmt.Sprintf("%d", time.Now().UnixNano()),
		"X-Hub-Signature-256": webhook.SignatureHeader([]byte(body), []byte(token))}
}

// gitlab are the headers GitLab sends: its token, and a new event UUID.
func gitlab(event, token string) map[string]string {
	return map[string]string{"X-Gitlab-Event": event, "X-Gitlab-Token": token,
		"X-Gitlab-Event-UUID": fmt.Sprintf("%d", time.Now().UnixNano())}
}

// ghPR is a GitHub pull_request event: sender caused it, author opened the
// PR, headRepo holds the head (the base is acme/flows).
type ghPR struct {
	action                        string
	number                        int64
	sha, sender, author, headRepo string
	updated                       time.Time
}

func (p ghPR) body() string {
	if p.headRepo == "" {
		p.headRepo = "acme/flows"
	}
	if p.updated.IsZero() {
		p.updated = time.Now()
	}
	data, _ := json.Marshal(map[string]any{
		"action": p.action, "number": p.number, "sender": map[string]any{"login": p.sender},
		"pull_request": map[string]any{
			"user": map[string]any{"login": p.author}, "updated_at": p.updated.UTC().Format(time.RFC3339),
			"head": map[string]any{"sha": p.sha, "ref": fmt.Sprintf("pr-%d", p.number), "repo": map[string]any{"full_name": p.headRepo}},
			"base": map[string]any{"ref": "main", "repo": map[string]any{"full_name": "acme/flows"}},
		},
	})
	return string(data)
}

// glMR is a GitLab merge request event: user caused it (with userID), the
// author is authorID; oldrev is set when commits were pushed.
type glMR struct {
	action, oldrev   string
	iid              int64
	sha, user        string
	userID, authorID int64
}

func (m glMR) body() string {
	data, _ := json.Marshal(map[string]any{
		"object_kind": "merge_request",
		"user":        map[string]any{"id": m.userID, "username": m.user},
		"object_attributes": map[string]any{
			"iid": m.iid, "action": m.action, "oldrev": m.oldrev, "author_id": m.authorID,
			"source_branch": fmt.Sprintf("mr-%d", m.iid), "target_branch": "main",
			"source_project_id": 1, "target_project_id": 1, "last_commit": map[string]any{"id": m.sha},
			"updated_at": time.Now().UTC().Format("2006-01-02 15:04:05 UTC"),
		},
	})
	return string(data)
}

// prChecks is a workflow that every PR event runs from the base branch.
func prChecks(name string) string {
	return fmt.Sprintf(`apiVersion: krt.dev/v1alpha1
kind: Workflow
metadata:
  name: %s
spec:
  on:
    pullRequest: {}
  steps:
    - name: check
      runtime: bash
      run: echo checked
`, name)
}

// prRunName is the trigger's name for a PR head's run of a workflow.
func prRunName(workflow string, n int64, sha string) string {
	return fmt.Sprintf("%s-pr%d-%s", workflow, n, sha[:7])
}

// waitWorkflowRun waits until the named run exists and cond holds.
func waitWorkflowRun(t *testing.T, ns, name, what string, cond func(*krtv1.WorkflowRun) bool) *krtv1.WorkflowRun {
	t.Helper()
	wr := &krtv1.WorkflowRun{}
	eventually(t, 2*time.Minute, name+" to "+what, func() bool {
		return env.Client.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: name}, wr) == nil && cond(wr)
	})
	return wr
}

// workflowRunExists reports whether a run of that name was created.
func workflowRunExists(t *testing.T, ns, name string) bool {
	t.Helper()
	err := env.Client.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: name}, &krtv1.WorkflowRun{})
	return err == nil
}

// stepRuns counts the Runs, the steps' processes, a WorkflowRun made.
func stepRuns(t *testing.T, ns, name string) int {
	t.Helper()
	list := &krtv1.RunList{}
	if err := env.Client.List(context.Background(), list, client.InNamespace(ns),
		client.MatchingLabels{krtv1.LabelWorkflowRun: name}); err != nil {
		t.Fatal(err)
	}
	return len(list.Items)
}

// awaitsApproval asserts that a run is held for an approval, with no
// step started.
func awaitsApproval(t *testing.T, ns, name string) {
	t.Helper()
	wr := waitWorkflowRun(t, ns, name, "have a phase", func(wr *krtv1.WorkflowRun) bool { return wr.Status.Phase != "" })
	if !wr.Spec.RequireApproval || wr.Status.Phase != krtv1.WorkflowAwaitingApproval {
		t.Errorf("%s: requireApproval %v, phase %s %q; want it held for an approval", name, wr.Spec.RequireApproval, wr.Status.Phase, wr.Status.Message)
	}
	if n := stepRuns(t, ns, name); n != 0 {
		t.Errorf("%s made %d Runs before any approval", name, n)
	}
}

// succeeds waits for a run to end and asserts that it succeeded.
func succeeds(t *testing.T, ns, name string) {
	t.Helper()
	wr := waitWorkflowRun(t, ns, name, "end", func(wr *krtv1.WorkflowRun) bool { return wr.Status.Phase.Terminal() })
	if wr.Status.Phase != krtv1.WorkflowSucceeded || wr.Spec.RequireApproval {
		t.Errorf("%s ended %s %q (requireApproval %v), want Succeeded without an approval", name, wr.Status.Phase, wr.Status.Message, wr.Spec.RequireApproval)
	}
}
