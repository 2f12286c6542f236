package trigger

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	krtv1 "krt.dev/krt/api/v1alpha1"
	"krt.dev/krt/sources/gitserver"
	"krt.dev/krt/sources/gitserver/gittest"
	"krt.dev/krt/workflows/dag"
)

// checksFile is workflows/pr-checks.yaml with its one step's script.
func checksFile(run string) string {
	return `apiVersion: krt.dev/v1alpha1
kind: Workflow
metadata:
  name: pr-checks
spec:
  on:
    pullRequest: {}
  steps:
    - name: a
      runtime: bash
      run: ` + run + "\n"
}

// lintFile is a workflow that only PR heads have.
const lintFile = `apiVersion: krt.dev/v1alpha1
kind: Workflow
metadata:
  name: pr-lint
spec:
  on:
    pullRequest: {}
  steps:
    - name: a
      runtime: bash
      run: echo lint
`

// gitRepo is a served repository whose main branch holds pr-checks, as
// the source controller would have applied it.
type gitRepo struct {
	*gittest.Served
	work *gittest.Clone
}

func serveRepo(t *testing.T, srv *gittest.Served) *gitRepo {
	t.Helper()
	g := &gitRepo{Served: srv, work: gittest.NewClone(t, srv.URL)}
	g.work.Write(map[string]string{"workflows/pr-checks.yaml": checksFile("echo base")})
	g.work.Commit("base")
	g.work.Push("main")
	return g
}

// pushPR commits files on a branch off main and publishes it as PR n's
// head, returning the head commit.
func (g *gitRepo) pushPR(t *testing.T, n int, files map[string]string) string {
	t.Helper()
	g.work.Run("checkout", "--quiet", "-B", fmt.Sprintf("pr-%d", n), "main")
	g.work.Write(files)
	head := g.work.Commit(fmt.Sprintf("pr %d", n))
	g.work.Push(fmt.Sprintf("HEAD:refs/pull/%d/head", n))
	return head
}

// baseChecks is pr-checks as applied from main.
func baseChecks(t *testing.T, ns string) {
	t.Helper()
	wf := &krtv1.Workflow{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "pr-checks",
		Labels: map[string]string{krtv1.LabelRepository: "web"},
		Annotations: map[string]string{krtv1.AnnotationRevision: "main@sha1:0000000000",
			krtv1.AnnotationFile: "workflows/pr-checks.yaml"}},
		Spec: krtv1.WorkflowSpec{
			On:    krtv1.Triggers{PullRequest: &krtv1.PullRequestTrigger{}},
			Steps: []krtv1.Step{{Name: "a", Runtime: "bash", Run: "echo base"}}}}
	if err := env.Client.Create(context.Background(), wf); err != nil {
		t.Fatal(err)
	}
}

// headPolicy trusts heads that alice pushes: with definitionsFrom: head,
// an empty allowedAuthors trusts none.
func headPolicy(from string, approvers ...string) *krtv1.PullRequestPolicy {
	return &krtv1.PullRequestPolicy{Enabled: true, Provider: "generic", DefinitionsFrom: from, Approvers: approvers,
		AllowedAuthors: []string{"alice"}}
}

// eventOf waits for a Warning event on the repository whose message holds
// every part.
func eventOf(t *testing.T, ns, reason string, parts ...string) {
	t.Helper()
	eventually(t, reason+" event", func() (bool, string) {
		list := &corev1.EventList{}
		if err := env.Client.List(context.Background(), list, client.InNamespace(ns)); err != nil {
			return false, err.Error()
		}
		var seen []string
		for _, e := range list.Items {
			if e.Reason != reason || e.InvolvedObject.Kind != "WorkflowRepository" {
				continue
			}
			seen = append(seen, e.Message)
			if containsAll(e.Message, parts) {
				return true, ""
			}
		}
		return false, fmt.Sprint(seen)
	})
}

func containsAll(s string, parts []string) bool {
	for _, p := range parts {
		if !strings.Contains(s, p) {
			return false
		}
	}
	return true
}

func TestHeadDefinitionsRunTheHead(t *testing.T) {
	ns := env.Namespace(t)
	g := serveRepo(t, gittest.Serve(t, gitserver.Options{}, "web"))
	head := g.pushPR(t, 1, map[string]string{"workflows/pr-checks.yaml": checksFile("echo head"), "workflows/lint.yaml": lintFile})
	repo := newRepo(t, ns, "web", g.URL, headPolicy("head"), "")
	baseChecks(t, ns)
	recordPR(t, repo, krtv1.PullRequest{Number: 1, HeadSHA: head, HeadRef: "pr-1", Author: "alice", PushedBy: "alice", Action: "opened"})

	wr := waitRun(t, ns, "pr-checks-pr1-"+head[:7], krtv1.WorkflowRunning)
	if got := wr.Spec.Definition.Steps[0].Run; got != "echo head" {
		t.Errorf("definition's step runs %q, want the head's", got)
	}
	if want := "refs/pull/1/head@sha1:" + head; wr.Spec.Revision != want || wr.Spec.RequireApproval {
		t.Errorf("revision %q requireApproval %v, want %q and none", wr.Spec.Revision, wr.Spec.RequireApproval, want)
	}
	if own := wr.OwnerReferences; len(own) != 1 || own[0].Kind != "WorkflowRepository" || own[0].Name != "web" {
		t.Errorf("owners = %+v", own)
	}
	lint := waitRun(t, ns, "pr-lint-pr1-"+head[:7], krtv1.WorkflowRunning) // only in the head
	if lint.Spec.Revision != wr.Spec.Revision {
		t.Errorf("pr-lint's revision = %q", lint.Spec.Revision)
	}

	fetches := g.Server.Counts()["web"].Fetches
	restartManager(t)
	// A status write wakes the repository in the new manager too.
	recordPR(t, repo, krtv1.PullRequest{Number: 9, HeadSHA: head, Author: "alice", PushedBy: "alice", Action: "closed"})
	consistently(t, "no run twice after a restart", 3*time.Second, func() (bool, string) {
		a, b := runsOf(t, ns, "pr-checks"), runsOf(t, ns, "pr-lint")
		return len(a) == 1 && len(b) == 1, fmt.Sprint(a, b)
	})
	if got := g.Server.Counts()["web"].Fetches; got != fetches {
		t.Errorf("the restart fetched the head again (%d fetches, was %d)", got, fetches)
	}

	// The head runs are recorded on the repository: one deleted is not
	// made again when the PR's event is read anew.
	eventually(t, "the repository's record of head runs", func() (bool, string) {
		got := &krtv1.WorkflowRepository{}
		if err := env.Client.Get(context.Background(), client.ObjectKeyFromObject(repo), got); err != nil {
			return false, err.Error()
		}
		return slices.Contains(got.Status.HandledRuns, wr.Name) && slices.Contains(got.Status.HandledRuns, lint.Name),
			fmt.Sprint(got.Status.HandledRuns)
	})
	if err := env.Client.Delete(context.Background(), lint); err != nil {
		t.Fatal(err)
	}
	recordPR(t, repo, krtv1.PullRequest{Number: 1, HeadSHA: head, HeadRef: "pr-1", Author: "alice", PushedBy: "alice", Action: "synchronize"})
	consistently(t, "the deleted head run stays deleted", 3*time.Second, func() (bool, string) {
		b := runsOf(t, ns, "pr-lint")
		return len(b) == 0, fmt.Sprint(b)
	})
}

func TestBaseDefinitionsIgnoreTheHead(t *testing.T) {
	ns := env.Namespace(t)
	g := serveRepo(t, gittest.Serve(t, gitserver.Options{}, "web"))
	head := g.pushPR(t, 1, map[string]string{"workflows/pr-checks.yaml": checksFile("echo head"), "workflows/lint.yaml": lintFile})
	before := g.Server.Counts()["web"]
	repo := newRepo(t, ns, "web", g.URL, headPolicy(""), "") // the default: base
	baseChecks(t, ns)
	recordPR(t, repo, krtv1.PullRequest{Number: 1, HeadSHA: head, Author: "alice", PushedBy: "alice", Action: "opened"})

	wr := waitRun(t, ns, "pr-checks-pr1-"+head[:7], krtv1.WorkflowRunning)
	if got := wr.Spec.Definition.Steps[0].Run; got != "echo base" {
		t.Errorf("definition's step runs %q, want main's", got)
	}
	consistently(t, "no run of a workflow only the head has", time.Second, only(t, ns, "pr-lint"))
	if got := g.Server.Counts()["web"]; got != before {
		t.Errorf("base definitions touched git: %+v, was %+v", got, before)
	}
}

func TestBrokenHeadDefinitionFailsItsRun(t *testing.T) {
	ns := env.Namespace(t)
	g := serveRepo(t, gittest.Serve(t, gitserver.Options{}, "web"))
	broken := strings.Replace(checksFile("echo head"), "runtime: bash", "runtime: bash\n      runn: typo", 1)
	head := g.pushPR(t, 2, map[string]string{"workflows/pr-checks.yaml": broken, "workflows/new.yaml": "steps: [\n"})
	repo := newRepo(t, ns, "web", g.URL, headPolicy("head"), "")
	baseChecks(t, ns)
	recordPR(t, repo, krtv1.PullRequest{Number: 2, HeadSHA: head, Author: "alice", PushedBy: "alice", Action: "opened"})

	wr := waitRun(t, ns, "pr-checks-pr2-"+head[:7], krtv1.WorkflowFailed)
	if !containsAll(wr.Status.Message, []string{"workflows/pr-checks.yaml:11", "runn"}) {
		t.Errorf("message = %q, want file:line and the field", wr.Status.Message)
	}
	eventOf(t, ns, ReasonHeadInvalid, "pull request #2", "workflows/new.yaml:")
	consistently(t, "the failed run to stay failed and start nothing", 2*time.Second, func() (bool, string) {
		got := &krtv1.WorkflowRun{}
		if err := env.Client.Get(context.Background(), client.ObjectKeyFromObject(wr), got); err != nil {
			return false, err.Error()
		}
		runs := &krtv1.RunList{}
		if err := env.Client.List(context.Background(), runs, client.InNamespace(ns)); err != nil {
			return false, err.Error()
		}
		return got.Status.Phase == krtv1.WorkflowFailed && len(runs.Items) == 0,
			fmt.Sprintf("phase %s, %d Runs", got.Status.Phase, len(runs.Items))
	})
}

func TestForkHeadDefinitionWaitsForApproval(t *testing.T) {
	ns := env.Namespace(t)
	g := serveRepo(t, gittest.Serve(t, gitserver.Options{}, "web"))
	head := g.pushPR(t, 3, map[string]string{"workflows/pr-checks.yaml": checksFile("echo fork")})
	repo := newRepo(t, ns, "web", g.URL, headPolicy("head", "alice"), "")
	baseChecks(t, ns)
	recordPR(t, repo, krtv1.PullRequest{Number: 3, HeadSHA: head, HeadRef: "main", Author: "mallory", PushedBy: "mallory", Fork: true, Action: "opened"})

	wr := waitRun(t, ns, "pr-checks-pr3-"+head[:7], krtv1.WorkflowAwaitingApproval)
	if !wr.Spec.RequireApproval || wr.Spec.Definition.Steps[0].Run != "echo fork" {
		t.Errorf("requireApproval %v, step %q", wr.Spec.RequireApproval, wr.Spec.Definition.Steps[0].Run)
	}
	key := client.ObjectKey{Namespace: ns, Name: dag.RunName(wr.Name, string(wr.UID), "a")}
	consistently(t, "no step of the fork's code before an approval", 2*time.Second, func() (bool, string) {
		err := env.Client.Get(context.Background(), key, &krtv1.Run{})
		return client.IgnoreNotFound(err) == nil && err != nil, fmt.Sprint(err)
	})
	approve(t, ns, "alice", wr.Name, head)
	waitRun(t, ns, wr.Name, krtv1.WorkflowRunning)
	run := &krtv1.Run{}
	eventually(t, "the approved head's Run", func() (bool, string) {
		err := env.Client.Get(context.Background(), key, run)
		return err == nil, fmt.Sprint(err)
	})
	if run.Spec.Script != "echo fork" {
		t.Errorf("the Run's script is %q, want the head's", run.Spec.Script)
	}
}

func TestHeadFetchIsRetried(t *testing.T) {
	ns := env.Namespace(t)
	// The repository is served through a switch that refuses every
	// request while git is down.
	srv, err := gitserver.New(gitserver.Options{Root: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := srv.CreateRepo("web"); err != nil {
		t.Fatal(err)
	}
	var down atomic.Bool
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if down.Load() {
			http.Error(w, "down", http.StatusServiceUnavailable)
			return
		}
		srv.ServeHTTP(w, r)
	}))
	t.Cleanup(hs.Close)
	g := serveRepo(t, &gittest.Served{Server: srv, HTTP: hs, URL: hs.URL + "/web.git"})
	head := g.pushPR(t, 4, map[string]string{"workflows/pr-checks.yaml": checksFile("echo head")})
	down.Store(true)
	repo := newRepo(t, ns, "web", g.URL, headPolicy("head"), "")
	baseChecks(t, ns)
	recordPR(t, repo, krtv1.PullRequest{Number: 4, HeadSHA: head, Author: "alice", PushedBy: "alice", Action: "opened"})

	eventOf(t, ns, ReasonHeadFetchFailed, "listing pull request heads", "503")
	if got := runsOf(t, ns, "pr-checks"); len(got) != 0 {
		t.Errorf("runs %v while git is down", got)
	}
	down.Store(false)
	wr := waitRun(t, ns, "pr-checks-pr4-"+head[:7], krtv1.WorkflowRunning)
	if got := wr.Spec.Definition.Steps[0].Run; got != "echo head" {
		t.Errorf("definition's step runs %q after the retry", got)
	}
}
