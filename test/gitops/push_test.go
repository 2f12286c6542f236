package gitops

import (
	"strconv"
	"strings"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	krtv1 "krt.dev/krt/api/v1alpha1"
	"krt.dev/krt/sources/gitserver"
)

// A push of new YAML becomes Workflows at that revision; a push changing
// one updates only it, and a push deleting one prunes it.
func TestPushAppliesUpdatesAndPrunes(t *testing.T) {
	ns := env.Namespace(t)
	g := serveRepo(t, gitserver.Options{}, map[string]string{
		"workflows/build.yaml":  workflowYAML("build", "v1"),
		"workflows/deploy.yaml": workflowYAML("deploy", "v1"),
		"README.md":             "not a workflow",
	})
	first := strings.TrimSpace(g.clone.Run("rev-parse", "HEAD"))
	repo := repository(t, ns, g.URL, nil)
	cur := waitRevision(t, repo, first)
	if want := "main@sha1:" + first; cur.Status.Artifact.Revision != want {
		t.Fatalf("revision %q, want %q", cur.Status.Artifact.Revision, want)
	}

	build, err := getWorkflow(t, ns, "build")
	if err != nil {
		t.Fatalf("the pushed workflow was not applied: %v", err)
	}
	if got := build.Annotations[krtv1.AnnotationRevision]; got != cur.Status.Artifact.Revision {
		t.Errorf("revision annotation %q, want %q", got, cur.Status.Artifact.Revision)
	}
	if !metav1.IsControlledBy(build, cur) {
		t.Errorf("workflow is not owned by its repository: %v", build.OwnerReferences)
	}
	if build.Labels["team"] != "platform" || build.Labels[krtv1.LabelRepository] != "flows" {
		t.Errorf("labels %v: want the file's own and krt's", build.Labels)
	}
	for k := range build.Labels {
		if k == "app.kubernetes.io/instance" || strings.HasPrefix(k, "argocd.argoproj.io/") || strings.Contains(k, "toolkit.fluxcd.io") {
			t.Errorf("label %s of another GitOps tool was copied onto the workflow", k)
		}
	}
	deployRV := mustWorkflow(t, ns, "deploy").ResourceVersion

	second := g.push(map[string]string{"workflows/build.yaml": workflowYAML("build", "v2")}, "change build")
	waitRevision(t, repo, second)
	if run := mustWorkflow(t, ns, "build").Spec.Steps[0].Run; !strings.Contains(run, "v2") {
		t.Errorf("build was not updated: run is %q", run)
	}
	if rv := mustWorkflow(t, ns, "deploy").ResourceVersion; rv != deployRV {
		t.Errorf("deploy was rewritten by a push that did not change it (resourceVersion %s -> %s)", deployRV, rv)
	}

	third := g.push(map[string]string{"workflows/deploy.yaml": ""}, "remove deploy")
	waitRevision(t, repo, third)
	if _, err := getWorkflow(t, ns, "deploy"); !apierrors.IsNotFound(err) {
		t.Errorf("deploy was deleted from git but not pruned: %v", err)
	}
	if _, err := getWorkflow(t, ns, "build"); err != nil {
		t.Errorf("build was pruned with deploy: %v", err)
	}
}

// An unchanged repository costs an ls-remote per interval and no fetch.
func TestUnchangedRepositoryIsNotFetched(t *testing.T) {
	ns := env.Namespace(t)
	g := serveRepo(t, gitserver.Options{}, map[string]string{"workflows/a.yaml": workflowYAML("a", "v1")})
	sha := strings.TrimSpace(g.clone.Run("rev-parse", "HEAD"))
	repo := repository(t, ns, g.URL, nil)
	waitRevision(t, repo, sha)

	fetches, listings := g.fetches(), g.listings()
	// Three more intervals' worth of ls-remote show the controller looked.
	eventually(t, 30*time.Second, "three more ls-remotes", func() (bool, string) {
		return g.listings() >= listings+3, "listings so far: " + strconv.Itoa(g.listings()-listings)
	})
	if got := g.fetches(); got != fetches {
		t.Errorf("an unchanged repository was fetched %d more times", got-fetches)
	}
}

// HTTPS basic auth from a Secret works; without the Secret the condition
// says credentials are needed.
func TestBasicAuth(t *testing.T) {
	ns := env.Namespace(t)
	g := serveRepo(t, gitserver.Options{Username: "krt", Password: "s3cret"}, map[string]string{"workflows/a.yaml": workflowYAML("a", "v1")})
	sha := strings.TrimSpace(g.clone.Run("rev-parse", "HEAD"))

	anon := repository(t, ns, g.URL, func(r *krtv1.WorkflowRepository) { r.Name = "anonymous" })
	waitCondition(t, anon, krtv1.ConditionFetchFailed, metav1.ConditionTrue, "authentication required")

	secret(t, ns, "git-creds", map[string]string{"username": "krt", "password": "s3cret"})
	repo := repository(t, ns, g.URL, func(r *krtv1.WorkflowRepository) {
		r.Spec.SecretRef = &krtv1.LocalObjectReference{Name: "git-creds"}
	})
	waitRevision(t, repo, sha)
	mustWorkflow(t, ns, "a")
}

// An SSH identity without known_hosts is refused with a clear condition,
// never connected to with "accept any host key".
func TestSSHKeyWithoutKnownHosts(t *testing.T) {
	ns := env.Namespace(t)
	secret(t, ns, "ssh-key", map[string]string{"identity": sshIdentity(t)})
	repo := repository(t, ns, "ssh://git@git.example.invalid/flows.git", func(r *krtv1.WorkflowRepository) {
		r.Spec.SecretRef = &krtv1.LocalObjectReference{Name: "ssh-key"}
	})
	waitCondition(t, repo, krtv1.ConditionFetchFailed, metav1.ConditionTrue, "known_hosts")
	waitCondition(t, repo, krtv1.ConditionStalled, metav1.ConditionTrue, "known_hosts")
	waitCondition(t, repo, krtv1.ConditionReady, metav1.ConditionFalse, "known_hosts")
}

func mustWorkflow(t *testing.T, ns, name string) *krtv1.Workflow {
	t.Helper()
	wf, err := getWorkflow(t, ns, name)
	if err != nil {
		t.Fatalf("workflow %s: %v", name, err)
	}
	return wf
}
