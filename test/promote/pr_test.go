package promote

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	krtv1 "krt.dev/krt/api/v1alpha1"
	"krt.dev/krt/sources/gitserver"
	"krt.dev/krt/sources/gitserver/gittest"
	"krt.dev/krt/sources/webhook"
	"krt.dev/krt/workflows/runs"
)

// prChecks is examples/workflows/pr-checks.yaml whose lint step holds
// until the test opens its head commit's gate, so a run can be caught in
// flight.
const prChecks = `apiVersion: krt.dev/v1alpha1
kind: Workflow
metadata:
  name: pr-checks
spec:
  on:
    pullRequest:
      branches: [main]
  concurrency:
    group: "pr-${{ event.pullRequest.number }}"
    cancelInProgress: true
  steps:
    - name: lint
      runtime: bash
      env: {HEAD_SHA: "${{ event.pullRequest.headSHA }}"}
      run: |
        until [ -e "%s/gate-$HEAD_SHA" ]; do sleep 0.05; done
        echo "checked=$HEAD_SHA" >> "$KRT_OUTPUTS"
    - name: unit
      runtime: python
      run: print("unit tests pass")
    - name: report
      needs: [lint, unit]
      runtime: bash
      env: {NUMBER: "${{ event.pullRequest.number }}"}
      run: echo "all checks done for PR $NUMBER"
`

// prWorld is a served repository holding pr-checks on main, and the hub's
// WorkflowRepository for it, which takes pull requests by webhook.
type prWorld struct {
	ns, hook, token, gates string
	clone                  *gittest.Clone
}

// Pull requests end to end with real runtimes: a PR is pushed and its
// webhook sent, the source controller records it, the trigger starts
// pr-checks from main's definition, and the steps run in the hub's pool.
func TestPullRequestRuns(t *testing.T) {
	w := newPRWorld(t)

	t.Run("a second push cancels the first run", func(t *testing.T) {
		first := w.pushPR(t, 1, "team/flows", "opened")
		waitRun(t, w.ns, prRun(1, first), "run lint", func(wr *krtv1.WorkflowRun) bool {
			return node(wr, "lint").Phase == krtv1.NodeRunning
		})
		second := w.pushPR(t, 1, "team/flows", "synchronize")
		old := waitRun(t, w.ns, prRun(1, first), "be cancelled", func(wr *krtv1.WorkflowRun) bool { return wr.Status.Phase.Terminal() })
		if old.Status.Phase != krtv1.WorkflowCancelled || node(old, "report").Phase == krtv1.NodeSucceeded {
			t.Errorf("the superseded run ended %s", describe(old))
		}
		w.open(t, second)
		wr := waitRun(t, w.ns, prRun(1, second), "finish", func(wr *krtv1.WorkflowRun) bool { return wr.Status.Phase.Terminal() })
		if wr.Status.Phase != krtv1.WorkflowSucceeded || node(wr, "lint").Outputs["checked"] != second {
			t.Errorf("the new head's run ended %s, lint outputs %v", describe(wr), node(wr, "lint").Outputs)
		}
	})

	t.Run("a fork waits for an approval of each head", func(t *testing.T) {
		rita := releaseManager(t, w.ns)
		first := w.pushPR(t, 2, "outsider/flows", "opened")
		w.open(t, first)
		name := prRun(2, first)
		waitRun(t, w.ns, name, "await approval", func(wr *krtv1.WorkflowRun) bool {
			return wr.Status.Phase == krtv1.WorkflowAwaitingApproval
		})
		if n := w.runsOf(t, name); n != 0 {
			t.Fatalf("an unapproved fork PR has %d Runs", n)
		}
		if out, code := krt(t, rita, "wf", "approve", name, "-n", w.ns); code != 0 {
			t.Fatalf("krt wf approve: exit %d: %s", code, out)
		}
		wr := waitRun(t, w.ns, name, "finish", func(wr *krtv1.WorkflowRun) bool { return wr.Status.Phase.Terminal() })
		if wr.Status.Phase != krtv1.WorkflowSucceeded || wr.Status.ApprovedBy != "rita" {
			t.Errorf("the approved run ended %s, approved by %q", describe(wr), wr.Status.ApprovedBy)
		}

		// The approval was of the first head; the next is unreviewed code.
		second := w.pushPR(t, 2, "outsider/flows", "synchronize")
		w.open(t, second)
		next := waitRun(t, w.ns, prRun(2, second), "await approval", func(wr *krtv1.WorkflowRun) bool {
			return wr.Status.Phase == krtv1.WorkflowAwaitingApproval && strings.Contains(wr.Status.Message, second)
		})
		if n := w.runsOf(t, next.Name); n != 0 || next.Status.ApprovedBy != "" {
			t.Errorf("the new head has %d Runs and approver %q without an approval of its own", n, next.Status.ApprovedBy)
		}
	})
}

func newPRWorld(t *testing.T) *prWorld {
	w := &prWorld{ns: hub.env.Namespace(t), token: "pr-hook-token", gates: t.TempDir()}
	runtime(t, hub, w.ns, "bash")
	runtime(t, hub, w.ns, "python")
	w.clone, w.hook = servedRepo(t, w.ns, w.token, map[string]string{"workflows/pr-checks.yaml": fmt.Sprintf(prChecks, w.gates)},
		&krtv1.PullRequestPolicy{Enabled: true, Provider: "generic", Approvers: []string{"group:release-managers"}},
		"pr-checks")
	return w
}

// servedRepo serves a git repository holding files on main, and points
// a WorkflowRepository in ns at it, with a webhook token; it waits until
// the named workflows are applied, and returns a clone and the webhook URL.
func servedRepo(t *testing.T, ns, token string, files map[string]string, prs *krtv1.PullRequestPolicy, workflows ...string) (*gittest.Clone, string) {
	t.Helper()
	ctx := context.Background()
	srv := gittest.Serve(t, gitserver.Options{}, "flows")
	clone := gittest.NewClone(t, srv.URL)
	clone.Write(files)
	clone.Commit("workflows")
	clone.Push("HEAD:refs/heads/main")

	secret := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "hook", Namespace: ns}, StringData: map[string]string{"token": token}}
	repo := &krtv1.WorkflowRepository{ObjectMeta: metav1.ObjectMeta{Name: "flows", Namespace: ns},
		Spec: krtv1.WorkflowRepositorySpec{URL: srv.URL, Ref: &krtv1.GitRef{Branch: "main"}, Path: "workflows",
			// Only webhooks explain a new revision.
			Interval:     metav1.Duration{Duration: time.Hour},
			Webhook:      &krtv1.WebhookSpec{SecretRef: krtv1.LocalObjectReference{Name: "hook"}},
			PullRequests: prs}}
	for _, o := range []client.Object{secret, repo} {
		if err := hub.env.Client.Create(ctx, o); err != nil {
			t.Fatal(err)
		}
	}
	hook := ""
	eventually(t, time.Minute, fmt.Sprintf("%v to be applied", workflows), func() (bool, string) {
		cur := &krtv1.WorkflowRepository{}
		if err := hub.env.Client.Get(ctx, client.ObjectKeyFromObject(repo), cur); err != nil {
			return false, err.Error()
		}
		hook = hookURL + cur.Status.WebhookPath
		for _, name := range workflows {
			if err := hub.env.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, &krtv1.Workflow{}); err != nil {
				return false, err.Error()
			}
		}
		return cur.Status.WebhookPath != "", fmt.Sprint(cur.Status.Conditions)
	})
	return clone, hook
}

// pushPR commits to the PR's head and pushes it, as its author would, then
// sends the signed webhook the git host would send, dana being who pushed;
// it returns the head.
func (w *prWorld) pushPR(t *testing.T, number int, headRepo, action string) string {
	t.Helper()
	w.clone.Write(map[string]string{"change.txt": fmt.Sprintf("PR %d %s at %s\n", number, action, time.Now())})
	sha := w.clone.Commit(fmt.Sprintf("PR %d: %s", number, action))
	w.clone.Push(fmt.Sprintf("+HEAD:refs/pull/%d/head", number))
	sendPRHook(t, w.hook, w.token, number, action, sha, headRepo)
	return sha
}

// sendPRHook sends the pull_request webhook of dana's PR number into main,
// whose head is sha in headRepo.
func sendPRHook(t *testing.T, hook, token string, number int, action, sha, headRepo string) {
	t.Helper()
	body := fmt.Sprintf(`{"action":%q,"number":%d,"sender":{"login":"dana"},"pull_request":{"user":{"login":"dana"},
		"head":{"sha":%q,"ref":"feature-%d","repo":{"full_name":%q}},
		"base":{"ref":"main","repo":{"full_name":"team/flows"}}}}`, action, number, sha, number, headRepo)
	sendHook(t, hook, token, "pull_request", body)
}

// sendHook posts a GitHub webhook signed with token, as the git host
// would, and expects it accepted.
func sendHook(t *testing.T, url, token, event, body string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url, bytes.NewBufferString(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("X-GitHub-Event", event)
	req.Header.Set("X-Hub-Signature-256", webhook.SignatureHeader([]byte(body), []byte(token)))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted {
		t.Fatalf("the %s webhook answered %s", event, resp.Status)
	}
}

// open lets the lint step of head's runs finish.
func (w *prWorld) open(t *testing.T, head string) { touch(t, filepath.Join(w.gates, "gate-"+head)) }

// runsOf counts the Runs a WorkflowRun has made in the hub.
func (w *prWorld) runsOf(t *testing.T, name string) int {
	t.Helper()
	list := &krtv1.RunList{}
	err := hub.env.Client.List(context.Background(), list, client.InNamespace(w.ns), client.MatchingLabels{krtv1.LabelWorkflowRun: name})
	if err != nil {
		t.Fatal(err)
	}
	return len(list.Items)
}

// prRun is the trigger's deterministic name for a PR head's run.
func prRun(number int, sha string) string {
	return runs.Name("pr-checks", fmt.Sprintf("pr%d-%s", number, sha[:7]))
}
