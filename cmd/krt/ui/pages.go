package ui

import (
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	krtv1 "krt.dev/krt/api/v1alpha1"
	"krt.dev/krt/workflows/runs"
)

func (s *Server) home(w http.ResponseWriter, r *http.Request) {
	http.Redirect(w, r, "/ns/"+url.PathEscape(s.opts.Namespace)+"/runs", http.StatusSeeOther)
}

// goNamespace is the namespace box's target: the same page in another
// namespace.
func (s *Server) goNamespace(w http.ResponseWriter, r *http.Request) {
	page := r.FormValue("page")
	if !slices.Contains([]string{"runs", "workflows", "repositories", "runtimes"}, page) {
		page = "runs"
	}
	http.Redirect(w, r, "/ns/"+url.PathEscape(strings.TrimSpace(r.FormValue("ns")))+"/"+page, http.StatusSeeOther)
}

// apiError shows what the API server refused, in words, and nothing else
// of the namespace: a user without RBAC there sees only that.
func (s *Server) apiError(w http.ResponseWriter, r *http.Request, name string, err error) {
	code := http.StatusBadGateway
	msg := err.Error()
	switch {
	case apierrors.IsForbidden(err):
		code = http.StatusForbidden
		msg = fmt.Sprintf("You (%s) may not see this in namespace %s: the API server said %q.", sessionOf(r).user.Username, r.PathValue("ns"), apierrors.ReasonForError(err))
	case apierrors.IsNotFound(err):
		code = http.StatusNotFound
	}
	w.WriteHeader(code)
	p := page{NS: r.PathValue("ns"), Active: name, Error: msg, User: sessionOf(r).user.Username, CSRF: sessionOf(r).csrf}
	s.execute(w, "error", "layout.html", p)
}

type workflowRow struct {
	Name, Triggers, LastRun, Revision, Ready string
}

func (s *Server) workflows(w http.ResponseWriter, r *http.Request) {
	list := &krtv1.WorkflowList{}
	if err := sessionOf(r).c.List(r.Context(), list, client.InNamespace(r.PathValue("ns"))); err != nil {
		s.apiError(w, r, "workflows", err)
		return
	}
	rows := make([]workflowRow, 0, len(list.Items))
	for _, wf := range list.Items {
		rows = append(rows, workflowRow{Name: wf.Name, Triggers: triggers(&wf.Spec.On), LastRun: wf.Status.LastRun,
			Revision: wf.Annotations[krtv1.AnnotationRevision], Ready: readyOf(wf.Status.Conditions)})
	}
	s.render(w, r, "workflows", rows)
}

// triggers says what starts a workflow, as `krt wf list` does.
func triggers(on *krtv1.Triggers) string {
	var out []string
	if on.Push != nil {
		out = append(out, "push "+strings.Join(on.Push.Branches, ","))
	}
	if on.PullRequest != nil {
		out = append(out, "pull request "+strings.Join(on.PullRequest.Branches, ","))
	}
	for _, sc := range on.Schedule {
		out = append(out, "schedule "+sc.Cron)
	}
	if on.Manual != nil {
		out = append(out, "manual")
	}
	if on.When != "" {
		out = append(out, "when "+on.When)
	}
	if len(out) == 0 {
		return "-"
	}
	return strings.Join(out, "; ")
}

type runFilter struct{ Workflow, Phase, Event, Author string }

type runRow struct {
	Name, Workflow, Phase, Event, Author, Revision, Started, Took, Nodes string
}

type runsData struct {
	Filter runFilter
	Rows   []runRow
	Phases []string
}

func (s *Server) runs(w http.ResponseWriter, r *http.Request) {
	f := runFilter{Workflow: r.FormValue("workflow"), Phase: r.FormValue("phase"), Event: r.FormValue("event"), Author: r.FormValue("author")}
	data, err := s.runRows(r, f)
	if err != nil {
		s.apiError(w, r, "runs", err)
		return
	}
	if r.FormValue("partial") != "" {
		s.fragment(w, "runs", "runs-table", page{NS: r.PathValue("ns"), Data: data})
		return
	}
	s.render(w, r, "runs", data)
}

func (s *Server) runRows(r *http.Request, f runFilter) (runsData, error) {
	opts := []client.ListOption{client.InNamespace(r.PathValue("ns"))}
	if f.Workflow != "" {
		opts = append(opts, client.MatchingLabels{runs.LabelWorkflow: f.Workflow})
	}
	list := &krtv1.WorkflowRunList{}
	if err := sessionOf(r).c.List(r.Context(), list, opts...); err != nil {
		return runsData{}, err
	}
	items := list.Items
	slices.SortFunc(items, func(a, b krtv1.WorkflowRun) int {
		if c := b.CreationTimestamp.Compare(a.CreationTimestamp.Time); c != 0 {
			return c
		}
		return strings.Compare(b.Name, a.Name)
	})
	d := runsData{Filter: f, Phases: []string{"Pending", "Running", "AwaitingApproval", "Succeeded", "Failed", "Cancelled"}}
	for i := range items {
		row := rowOf(&items[i])
		if (f.Phase == "" || row.Phase == f.Phase) && (f.Event == "" || row.Event == f.Event) &&
			(f.Author == "" || strings.Contains(row.Author, f.Author)) {
			d.Rows = append(d.Rows, row)
		}
	}
	return d, nil
}

func rowOf(wr *krtv1.WorkflowRun) runRow {
	done := 0
	for _, n := range wr.Status.Nodes {
		if n.Phase.Done() {
			done++
		}
	}
	return runRow{Name: wr.Name, Workflow: wr.Spec.Workflow, Phase: runPhase(wr), Event: wr.Spec.Event.Type, Author: author(wr),
		Revision: wr.Spec.Revision, Started: ago(wr.Status.StartTime), Took: took(wr.Status.StartTime, wr.Status.CompletionTime),
		Nodes: fmt.Sprintf("%d/%d", done, len(wr.Status.Nodes))}
}

// author is who caused a run: who started it by hand or reran it, or
// whose push made a pull request's head.
func author(wr *krtv1.WorkflowRun) string {
	ev := wr.Spec.Event
	switch {
	case wr.Spec.TriggeredBy != "":
		return wr.Spec.TriggeredBy
	case ev.Manual != nil && ev.Manual.User != "":
		return ev.Manual.User
	case ev.PullRequest != nil && ev.PullRequest.PushedBy != "":
		return ev.PullRequest.PushedBy
	case ev.PullRequest != nil:
		return ev.PullRequest.Author
	}
	return ""
}

func readyOf(conds []metav1.Condition) string {
	for _, c := range conds {
		if c.Type == krtv1.ConditionReady {
			if c.Message != "" {
				return string(c.Status) + ": " + c.Message
			}
			return string(c.Status)
		}
	}
	return "-"
}
