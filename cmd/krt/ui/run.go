package ui

import (
	"net/http"
	"slices"

	"sigs.k8s.io/controller-runtime/pkg/client"

	krtv1 "krt.dev/krt/api/v1alpha1"
	"krt.dev/krt/cmd/krt/runops"
	"krt.dev/krt/workflows/dag"
	"krt.dev/krt/workflows/expr"
	"krt.dev/krt/workflows/runs"
)

type runPage struct {
	Run                *krtv1.WorkflowRun
	Phase, Message     string
	Author, Started    string
	Took               string
	Terminal, Awaiting bool
	Uses               string // what a pull request's run awaiting approval will use
	Graph              graph
	Node               *nodePanel // a node page, for a browser without scripts
}

func (s *Server) getRun(r *http.Request) (*krtv1.WorkflowRun, error) {
	wr := &krtv1.WorkflowRun{}
	err := sessionOf(r).c.Get(r.Context(), client.ObjectKey{Namespace: r.PathValue("ns"), Name: r.PathValue("name")}, wr)
	return wr, err
}

func (s *Server) runPageOf(r *http.Request, wr *krtv1.WorkflowRun) runPage {
	p := runPage{Run: wr, Phase: runPhase(wr), Message: wr.Status.Message, Author: author(wr),
		Started: stamp(wr.Status.StartTime), Took: took(wr.Status.StartTime, wr.Status.CompletionTime),
		Terminal: wr.Status.Phase.Terminal(), Awaiting: wr.Status.Phase == krtv1.WorkflowAwaitingApproval, Graph: layout(wr)}
	if p.Awaiting {
		env, err := expr.NewEnv()
		if err == nil {
			p.Uses = runs.Uses(r.Context(), env, wr)
		}
	}
	return p
}

func (s *Server) run(w http.ResponseWriter, r *http.Request) {
	wr, err := s.getRun(r)
	if err != nil {
		s.apiError(w, r, "runs", err)
		return
	}
	s.render(w, r, "run", s.runPageOf(r, wr))
}

// runDAG is the graph alone, which the page fetches again when the run
// gains nodes (a forEach expanded once its input was known).
func (s *Server) runDAG(w http.ResponseWriter, r *http.Request) {
	wr, err := s.getRun(r)
	if err != nil {
		s.apiError(w, r, "runs", err)
		return
	}
	s.fragment(w, "run", "dag", s.runPageOf(r, wr))
}

type nodePanel struct {
	NS, RunName string
	CSRF        string // the session's, for the approval's form
	View        nodeView
	Status      *krtv1.NodeStatus
	Step        *krtv1.Step
	Outputs     [][2]string
	Gate        *gateView
}

type gateView struct {
	Approvers []string
	Me        string
	MayDecide bool
	Waiting   bool
	WillRun   []*krtv1.Step
}

func (s *Server) node(w http.ResponseWriter, r *http.Request) {
	wr, err := s.getRun(r)
	if err != nil {
		s.apiError(w, r, "runs", err)
		return
	}
	np := panelOf(wr, r.PathValue("node"), sessionOf(r))
	if r.FormValue("partial") != "" {
		s.fragment(w, "run", "node-panel", np)
		return
	}
	p := s.runPageOf(r, wr)
	p.Node = np
	s.render(w, r, "run", p)
}

func panelOf(wr *krtv1.WorkflowRun, node string, se *session) *nodePanel {
	np := &nodePanel{NS: wr.Namespace, RunName: wr.Name, CSRF: se.csrf, Step: runops.StepNamed(wr, dag.StepOf(node))}
	for i := range wr.Status.Nodes {
		if wr.Status.Nodes[i].Name == node {
			np.Status = &wr.Status.Nodes[i]
			np.View = viewOf(wr, np.Status)
		}
	}
	if np.Status == nil {
		np.View = nodeView{Name: node, Label: node, Phase: "Pending", Symbol: symbol("Pending")}
	}
	if np.Status != nil {
		for _, k := range sortedKeys(np.Status.Outputs) {
			np.Outputs = append(np.Outputs, [2]string{k, np.Status.Outputs[k]})
		}
	}
	if np.Step != nil && np.Step.Approval != nil {
		np.Gate = &gateView{Approvers: np.Step.Approval.Approvers, Me: se.user.Username,
			MayDecide: runops.MayDecide(se.user, np.Step.Approval.Approvers),
			Waiting:   np.Status != nil && np.Status.Phase == krtv1.NodeWaiting, WillRun: downstream(wr, np.Step.Name)}
	}
	return np
}

// downstream are the steps that wait, directly or not, for gate: what an
// approval lets run, shown as written in the run's definition.
func downstream(wr *krtv1.WorkflowRun, gate string) []*krtv1.Step {
	steps := wr.Spec.Definition.Steps
	after := map[string]bool{gate: true}
	var out []*krtv1.Step
	for changed := true; changed; {
		changed = false
		for i := range steps {
			s := &steps[i]
			if after[s.Name] {
				continue
			}
			if slices.ContainsFunc(dag.Needs(s, steps), func(n string) bool { return after[n] }) {
				after[s.Name], changed = true, true
			}
		}
	}
	for i := range steps {
		if after[steps[i].Name] && steps[i].Name != gate {
			out = append(out, &steps[i])
		}
	}
	return out
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
