package ui

import (
	"net/http"
	"slices"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	krtv1 "krt.dev/krt/api/v1alpha1"
	"krt.dev/krt/workflows/prtrust"
)

type repoView struct {
	Repo        *krtv1.WorkflowRepository
	Source      string
	Revision    string
	Conditions  []metav1.Condition
	ParseErrors []krtv1.ParseError
	PRs         []prView
}

type prView struct {
	PR      krtv1.PullRequest
	Trusted bool
	Trust   string
}

func (s *Server) repositories(w http.ResponseWriter, r *http.Request) {
	list := &krtv1.WorkflowRepositoryList{}
	if err := sessionOf(r).c.List(r.Context(), list, client.InNamespace(r.PathValue("ns"))); err != nil {
		s.apiError(w, r, "repositories", err)
		return
	}
	views := make([]repoView, 0, len(list.Items))
	for i := range list.Items {
		views = append(views, repoViewOf(&list.Items[i]))
	}
	s.render(w, r, "repositories", views)
}

func repoViewOf(repo *krtv1.WorkflowRepository) repoView {
	v := repoView{Repo: repo, Source: repo.Spec.URL, Conditions: repo.Status.Conditions, ParseErrors: repo.Status.ParseErrors}
	if ref := repo.Spec.SourceRef; ref != nil {
		v.Source = ref.Kind + "/" + ref.Name
	}
	if a := repo.Status.Artifact; a != nil {
		v.Revision = a.Revision
	}
	for _, pr := range repo.Status.PullRequests {
		t := prtrust.Trusted(repo.Spec.PullRequests, &pr)
		v.PRs = append(v.PRs, prView{PR: pr, Trusted: t, Trust: trustWords(t, &pr)})
	}
	return v
}

// trustWords says why a head runs at once or waits, in the trigger's
// terms (workflows/prtrust).
func trustWords(trusted bool, pr *krtv1.PullRequest) string {
	switch {
	case trusted:
		return "trusted: runs without approval"
	case pr.Fork:
		return "from a fork: waits for an approver"
	case pr.PushedBy == "":
		return "head pushed by no known user: waits for an approver"
	}
	return "pushed by " + pr.PushedBy + ", not an allowed author: waits for an approver"
}

type runtimeView struct {
	RT      *krtv1.Runtime
	Pods    []corev1.Pod
	Pending []string
	PodsErr string
}

func (s *Server) runtimes(w http.ResponseWriter, r *http.Request) {
	se, ns := sessionOf(r), r.PathValue("ns")
	list := &krtv1.RuntimeList{}
	if err := se.c.List(r.Context(), list, client.InNamespace(ns)); err != nil {
		s.apiError(w, r, "runtimes", err)
		return
	}
	runs := &krtv1.RunList{}
	runsErr := se.c.List(r.Context(), runs, client.InNamespace(ns))
	views := make([]runtimeView, 0, len(list.Items))
	for i := range list.Items {
		rt := &list.Items[i]
		v := runtimeView{RT: rt}
		pods := &corev1.PodList{}
		if err := se.c.List(r.Context(), pods, client.InNamespace(ns), client.MatchingLabels{krtv1.LabelRuntime: rt.Name}); err != nil {
			v.PodsErr = err.Error() // RBAC may allow Runtimes and not Pods
		}
		v.Pods = pods.Items
		if runsErr == nil {
			for _, run := range runs.Items {
				if run.Spec.Runtime == rt.Name && (run.Status.Phase == "" || run.Status.Phase == krtv1.RunPending) {
					v.Pending = append(v.Pending, run.Name)
				}
			}
		}
		slices.Sort(v.Pending)
		views = append(views, v)
	}
	s.render(w, r, "runtimes", views)
}
