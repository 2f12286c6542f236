package gitops

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"fmt"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"
	corev1 "k8s.io/api/core/v1"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	krtv1 "krt.dev/krt/api/v1alpha1"
	"krt.dev/krt/sources/gitserver"
	"krt.dev/krt/sources/gitserver/gittest"
)

// eventually polls cond until it holds, failing with its last word after
// timeout.
func eventually(t *testing.T, timeout time.Duration, what string, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	last := ""
	for time.Now().Before(deadline) {
		ok, why := cond()
		if ok {
			return
		}
		last = why
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("timed out after %s waiting for %s: %s%s", timeout, what, last, stack.ControllerState())
}

// gitRepo is a served repository with a working clone.
type gitRepo struct {
	*gittest.Served
	clone *gittest.Clone
}

func serveRepo(t *testing.T, opts gitserver.Options, files map[string]string) *gitRepo {
	t.Helper()
	srv := gittest.Serve(t, opts, "flows")
	url := srv.URL
	if opts.Username != "" {
		url = gittest.WithUser(t, url, opts.Username, opts.Password)
	}
	g := &gitRepo{Served: srv, clone: gittest.NewClone(t, url)}
	g.push(files, "initial workflows")
	return g
}

// push commits files (an empty value removes the file) and pushes main,
// returning the new commit.
func (g *gitRepo) push(files map[string]string, msg string) string {
	write := map[string]string{}
	var remove []string
	for name, content := range files {
		if content == "" {
			remove = append(remove, name)
		} else {
			write[name] = content
		}
	}
	g.clone.Write(write)
	if len(remove) > 0 {
		g.clone.Remove(remove...)
	}
	sha := g.clone.Commit(msg)
	g.clone.Push("HEAD:refs/heads/main")
	return sha
}

func (g *gitRepo) fetches() int  { return g.Server.Counts()["flows"].Fetches }
func (g *gitRepo) listings() int { return g.Server.Counts()["flows"].Listings }

// repository creates a WorkflowRepository for url in ns.
func repository(t *testing.T, ns, url string, mutate func(*krtv1.WorkflowRepository)) *krtv1.WorkflowRepository {
	t.Helper()
	repo := &krtv1.WorkflowRepository{
		ObjectMeta: metav1.ObjectMeta{Name: "flows", Namespace: ns},
		Spec: krtv1.WorkflowRepositorySpec{
			URL: url, Ref: &krtv1.GitRef{Branch: "main"},
			Interval: metav1.Duration{Duration: time.Second},
		},
	}
	if mutate != nil {
		mutate(repo)
	}
	if err := env.Client.Create(context.Background(), repo); err != nil {
		t.Fatal(err)
	}
	return repo
}

func getRepo(t *testing.T, repo *krtv1.WorkflowRepository) *krtv1.WorkflowRepository {
	t.Helper()
	return getRepoFrom(t, env.Client, repo)
}

// getRepoFrom reads the repository from the API server c talks to.
func getRepoFrom(t *testing.T, c client.Client, repo *krtv1.WorkflowRepository) *krtv1.WorkflowRepository {
	t.Helper()
	cur := &krtv1.WorkflowRepository{}
	if err := c.Get(context.Background(), client.ObjectKeyFromObject(repo), cur); err != nil {
		t.Fatal(err)
	}
	return cur
}

// waitRevision waits until the repository has handled commit sha.
func waitRevision(t *testing.T, repo *krtv1.WorkflowRepository, sha string) *krtv1.WorkflowRepository {
	t.Helper()
	return waitRevisionIn(t, env.Client, repo, sha)
}

// waitRevisionIn is waitRevision on the API server c talks to.
func waitRevisionIn(t *testing.T, c client.Client, repo *krtv1.WorkflowRepository, sha string) *krtv1.WorkflowRepository {
	t.Helper()
	var cur *krtv1.WorkflowRepository
	eventually(t, 30*time.Second, "revision "+sha[:7], func() (bool, string) {
		cur = getRepoFrom(t, c, repo)
		ready := apimeta.FindStatusCondition(cur.Status.Conditions, krtv1.ConditionReady)
		if cur.Status.Artifact == nil || !strings.HasSuffix(cur.Status.Artifact.Revision, sha) || ready == nil {
			return false, describe(cur)
		}
		return ready.Reason != "Progressing", describe(cur)
	})
	return cur
}

// waitCondition waits until the repository has a condition with status
// and a message containing msg.
func waitCondition(t *testing.T, repo *krtv1.WorkflowRepository, typ string, status metav1.ConditionStatus, msg string) *metav1.Condition {
	t.Helper()
	return waitConditionIn(t, env.Client, repo, typ, status, msg)
}

// waitConditionIn is waitCondition on the API server c talks to.
func waitConditionIn(t *testing.T, c client.Client, repo *krtv1.WorkflowRepository, typ string, status metav1.ConditionStatus, msg string) *metav1.Condition {
	t.Helper()
	var found *metav1.Condition
	eventually(t, 30*time.Second, fmt.Sprintf("%s=%s with %q", typ, status, msg), func() (bool, string) {
		cur := getRepoFrom(t, c, repo)
		found = apimeta.FindStatusCondition(cur.Status.Conditions, typ)
		return found != nil && found.Status == status && strings.Contains(found.Message, msg), describe(cur)
	})
	return found
}

func describe(r *krtv1.WorkflowRepository) string {
	var b strings.Builder
	if r.Status.Artifact != nil {
		fmt.Fprintf(&b, "revision %s; ", r.Status.Artifact.Revision)
	}
	for _, c := range r.Status.Conditions {
		fmt.Fprintf(&b, "%s=%s (%s: %s); ", c.Type, c.Status, c.Reason, c.Message)
	}
	return b.String()
}

func getWorkflow(t *testing.T, ns, name string) (*krtv1.Workflow, error) {
	t.Helper()
	wf := &krtv1.Workflow{}
	err := env.Client.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: name}, wf)
	return wf, err
}

// secret creates a Secret in ns.
func secret(t *testing.T, ns, name string, data map[string]string) {
	t.Helper()
	s := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns}, StringData: data}
	if err := env.Client.Create(context.Background(), s); err != nil {
		t.Fatal(err)
	}
}

// workflowYAML is a small valid workflow whose one step echoes msg.
func workflowYAML(name, msg string) string {
	return fmt.Sprintf(`apiVersion: krt.dev/v1alpha1
kind: Workflow
metadata:
  name: %s
  labels:
    team: platform
    app.kubernetes.io/instance: argo-app
    argocd.argoproj.io/instance: argo-app
    kustomize.toolkit.fluxcd.io/name: flux-ks
spec:
  on:
    manual: {}
  steps:
    - name: hello
      runtime: bash
      run: echo %q
`, name, msg)
}

// sshIdentity is a fresh private key in OpenSSH PEM form.
func sshIdentity(t *testing.T) string {
	t.Helper()
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	block, err := ssh.MarshalPrivateKey(priv, "krt test")
	if err != nil {
		t.Fatal(err)
	}
	return string(pem.EncodeToMemory(block))
}
