package trigger

import (
	"context"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/util/retry"
	"sigs.k8s.io/controller-runtime/pkg/client"

	krtv1 "krt.dev/krt/api/v1alpha1"
)

// oneStep is a definition with one script step, whose Run the tests end.
var oneStep = []krtv1.Step{{Name: "a", Runtime: "bash", Run: "true"}}

func newRepo(t *testing.T, ns, name, url string, pol *krtv1.PullRequestPolicy, secret string) *krtv1.WorkflowRepository {
	t.Helper()
	repo := &krtv1.WorkflowRepository{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec: krtv1.WorkflowRepositorySpec{URL: url, PullRequests: pol}}
	if secret != "" {
		repo.Spec.SecretRef = &krtv1.LocalObjectReference{Name: secret}
	}
	if err := env.Client.Create(context.Background(), repo); err != nil {
		t.Fatal(err)
	}
	return repo
}

// newWorkflow creates a Workflow as the source controller would apply it.
func newWorkflow(t *testing.T, ns, name, repo string, spec krtv1.WorkflowSpec) *krtv1.Workflow {
	t.Helper()
	if spec.Steps == nil {
		spec.Steps = oneStep
	}
	wf := &krtv1.Workflow{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name,
		Annotations: map[string]string{krtv1.AnnotationRevision: "main@sha1:0000000000"}}, Spec: spec}
	if repo != "" {
		wf.Labels = map[string]string{krtv1.LabelRepository: repo}
	}
	if err := env.Client.Create(context.Background(), wf); err != nil {
		t.Fatal(err)
	}
	return wf
}

// updateRepoStatus changes a repository's status as the source controller
// would record an event.
func updateRepoStatus(t *testing.T, repo *krtv1.WorkflowRepository, change func(*krtv1.WorkflowRepositoryStatus)) {
	t.Helper()
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		got := &krtv1.WorkflowRepository{}
		if err := env.Client.Get(context.Background(), client.ObjectKeyFromObject(repo), got); err != nil {
			return err
		}
		change(&got.Status)
		return env.Client.Status().Update(context.Background(), got)
	})
	if err != nil {
		t.Fatal(err)
	}
}

func push(sha, branch string, at time.Time, paths ...string) krtv1.PushEvent {
	return krtv1.PushEvent{Revision: branch + "@sha1:" + sha, Branch: branch, ChangedPaths: paths, Time: metav1.NewTime(at)}
}

func recordPushes(t *testing.T, repo *krtv1.WorkflowRepository, pushes ...krtv1.PushEvent) {
	t.Helper()
	updateRepoStatus(t, repo, func(s *krtv1.WorkflowRepositoryStatus) { s.Pushes = append(s.Pushes, pushes...) })
}

// recordPR records a PR's latest event, replacing its older one.
func recordPR(t *testing.T, repo *krtv1.WorkflowRepository, pr krtv1.PullRequest) {
	t.Helper()
	if pr.Base == "" {
		pr.Base = "main"
	}
	pr.UpdatedAt = metav1.Now()
	updateRepoStatus(t, repo, func(s *krtv1.WorkflowRepositoryStatus) {
		for i := range s.PullRequests {
			if s.PullRequests[i].Number == pr.Number {
				s.PullRequests[i] = pr
				return
			}
		}
		s.PullRequests = append(s.PullRequests, pr)
	})
}

// approve creates an Approval of a pull request's run as user.
func approve(t *testing.T, ns, user, run, head string) {
	t.Helper()
	cfg, err := env.UserConfig(user, "system:masters")
	if err != nil {
		t.Fatal(err)
	}
	c, err := client.New(cfg, client.Options{Scheme: env.Scheme})
	if err != nil {
		t.Fatal(err)
	}
	a := &krtv1.Approval{ObjectMeta: metav1.ObjectMeta{Namespace: ns, GenerateName: run + "-"},
		Spec: krtv1.ApprovalSpec{WorkflowRun: run, WorkflowRunUID: runUID(t, ns, run), HeadSHA: head, Decision: "approve", User: user}}
	if err := c.Create(context.Background(), a); err != nil {
		t.Fatal(err)
	}
}

func getWorkflow(t *testing.T, ns, name string) *krtv1.Workflow {
	t.Helper()
	wf := &krtv1.Workflow{}
	if err := env.Client.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: name}, wf); err != nil {
		t.Fatal(err)
	}
	return wf
}

func phaseOf(t *testing.T, ns, name string) krtv1.WorkflowRunPhase {
	t.Helper()
	wr := &krtv1.WorkflowRun{}
	if err := env.Client.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: name}, wr); err != nil {
		t.Fatal(err)
	}
	return wr.Status.Phase
}

// runUID is the UID of a run, which an Approval is pinned to.
func runUID(t *testing.T, ns, name string) types.UID {
	t.Helper()
	wr := &krtv1.WorkflowRun{}
	if err := env.Client.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: name}, wr); err != nil {
		t.Fatal(err)
	}
	return wr.UID
}
