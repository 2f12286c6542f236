package trigger

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"slices"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/record"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	krtv1 "krt.dev/krt/api/v1alpha1"
)

func newSecret(t *testing.T, ns, name string, data map[string]string) {
	t.Helper()
	s := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}, StringData: data}
	if err := env.Client.Create(context.Background(), s); err != nil {
		t.Fatal(err)
	}
}

// waitStates waits until path has received exactly the states given, in
// order, and returns the calls.
func waitStates(t *testing.T, path, key string, states ...string) []call {
	t.Helper()
	var calls []call
	eventually(t, fmt.Sprintf("states %v at %s", states, path), func() (bool, string) {
		calls = fakeAPI.callsTo(path)
		var got []string
		for _, c := range calls {
			got = append(got, fmt.Sprint(c.Body[key]))
		}
		return fmt.Sprint(got) == fmt.Sprint(states), fmt.Sprint(got)
	})
	return calls
}

// shaOf makes a commit id per test namespace, so a repeated test does not
// see the requests of the one before.
func shaOf(ns string) string {
	sum := sha256.Sum256([]byte(ns))
	return hex.EncodeToString(sum[:20])
}

func TestGitHubCommitStatus(t *testing.T) {
	ns := env.Namespace(t)
	newSecret(t, ns, "gh", map[string]string{"bearerToken": "tok"})
	repo := newRepo(t, ns, "web", "https://github.com/acme/web.git",
		&krtv1.PullRequestPolicy{Enabled: true, Provider: "github", APIURL: fakeAPI.url}, "gh")
	newWorkflow(t, ns, "checks", "web", krtv1.WorkflowSpec{On: krtv1.Triggers{PullRequest: &krtv1.PullRequestTrigger{}}})
	sha := shaOf(ns)
	recordPR(t, repo, krtv1.PullRequest{Number: 9, HeadSHA: sha, Author: "alice", PushedBy: "alice", Action: "opened"})
	run := waitRun(t, ns, "checks-pr9-"+sha[:7], krtv1.WorkflowRunning)
	// go-github puts an enterprise API under /api/v3.
	path := "/api/v3/repos/acme/web/statuses/" + sha
	c := waitStates(t, path, "state", "pending")[0]
	if c.Auth != "Bearer tok" || c.Body["context"] != "krt/checks" || c.Body["description"] == "" {
		t.Errorf("request = %+v", c)
	}
	finishStep(t, ns, run.Name, "a", krtv1.RunSucceeded)
	waitRun(t, ns, run.Name, krtv1.WorkflowSucceeded)
	waitStates(t, path, "state", "pending", "success")
	eventually(t, "the reported state on the run", func() (bool, string) {
		got := waitRun(t, ns, run.Name, krtv1.WorkflowSucceeded)
		return got.Annotations[AnnotationReportedState] == "success", fmt.Sprint(got.Annotations)
	})
	// Once per state: a reconcile of a run already reported, as any later
	// event or a restart brings, reports nothing. The reporter's own
	// Reconcile is called, so its return is the event to wait for.
	rep := &Reporter{client: env.Client, secrets: env.Client, http: &http.Client{Timeout: 5 * time.Second},
		recorder: record.NewFakeRecorder(10)}
	if _, err := rep.Reconcile(context.Background(), ctrl.Request{NamespacedName: client.ObjectKeyFromObject(run)}); err != nil {
		t.Fatal(err)
	}
	check(t, "one report per state", func() (bool, string) {
		var got []string
		for _, c := range fakeAPI.callsTo(path) {
			got = append(got, fmt.Sprint(c.Body["state"]))
		}
		return slices.Equal(got, []string{"pending", "success"}), fmt.Sprintf("states %v, want [pending success]", got)
	})
}

func TestGitLabCommitStatus(t *testing.T) {
	ns := env.Namespace(t)
	newSecret(t, ns, "gl", map[string]string{"username": "oauth2", "password": "gltok"})
	// Statuses need the provider, not PR runs: pushes report too.
	repo := newRepo(t, ns, "web", "https://gitlab.example/group/web.git",
		&krtv1.PullRequestPolicy{Provider: "gitlab", APIURL: fakeAPI.url + "/api/v4"}, "gl")
	newWorkflow(t, ns, "build", "web", krtv1.WorkflowSpec{On: krtv1.Triggers{Push: &krtv1.PushTrigger{}}})
	sha := shaOf(ns)
	recordPushes(t, repo, push(sha, "main", time.Now(), "src/main.go"))
	run := waitRun(t, ns, "build-push-"+sha[:7], krtv1.WorkflowRunning)
	path := "/api/v4/projects/group%2Fweb/statuses/" + sha
	c := waitStates(t, path, "state", "running")[0]
	if c.Token != "gltok" || c.Body["name"] != "krt/build" {
		t.Errorf("request = %+v", c)
	}
	finishStep(t, ns, run.Name, "a", krtv1.RunFailed)
	waitRun(t, ns, run.Name, krtv1.WorkflowFailed)
	waitStates(t, path, "state", "running", "failed")
}
