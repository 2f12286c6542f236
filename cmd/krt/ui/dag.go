package ui

import (
	"fmt"
	"strings"

	krtv1 "krt.dev/krt/api/v1alpha1"
	"krt.dev/krt/cmd/krt/runops"
	"krt.dev/krt/workflows/dag"
)

// The DAG is laid out here, on the server, as positioned HTML links over
// an SVG of edges: the page needs no layout library, the nodes stay
// links (keyboard and screen readers work), and a 500-node run costs one
// pass over its status.
const (
	colW, gapX   = 230, 40
	nodeH, gapY  = 64, 18
	rowH, headH  = 42, 36
	maxGroupRows = 12 // more rows scroll inside their group
	pad          = 12
)

// graph is a run's DAG: its steps, and its finally steps apart.
type graph struct {
	Sections []section
}

type section struct {
	Title         string
	Width, Height int
	Boxes         []*box
	Edges         []string // SVG path data
}

// box is one step: a single node, or a forEach/matrix group of nodes.
type box struct {
	Step       string
	X, Y, W, H int
	Group      bool
	Kind       string // forEach or matrix
	Phase      string
	Summary    string
	Nodes      []nodeView
}

// nodeView is one node as the page shows it and the live updates patch.
type nodeView struct {
	Name    string `json:"name"`
	Label   string `json:"label"`
	Phase   string `json:"phase"`
	Symbol  string `json:"symbol"`
	Cluster string `json:"cluster,omitempty"`
	Attempt int32  `json:"attempt,omitempty"`
	Message string `json:"message,omitempty"`
	Gate    bool   `json:"gate,omitempty"`
}

func (n nodeView) Meta() string {
	var parts []string
	if n.Cluster != "" {
		parts = append(parts, "cluster "+n.Cluster)
	}
	if n.Attempt > 1 {
		parts = append(parts, fmt.Sprintf("attempt %d", n.Attempt))
	}
	if n.Gate && n.Phase == string(krtv1.NodeWaiting) {
		parts = append(parts, "awaits approval")
	}
	return strings.Join(parts, " · ")
}

func viewOf(wr *krtv1.WorkflowRun, n *krtv1.NodeStatus) nodeView {
	label := n.Name
	if _, key, ok := strings.Cut(n.Name, "["); ok {
		label = strings.TrimSuffix(key, "]")
	}
	p := phaseOr(string(n.Phase))
	return nodeView{Name: n.Name, Label: label, Phase: p, Symbol: symbol(p), Cluster: n.Cluster, Attempt: n.Attempt,
		Message: n.Message, Gate: runops.IsGate(wr, n.Name)}
}

// nodeViews are every node of the run, for the live updates.
func nodeViews(wr *krtv1.WorkflowRun) []nodeView {
	out := make([]nodeView, len(wr.Status.Nodes))
	for i := range wr.Status.Nodes {
		out[i] = viewOf(wr, &wr.Status.Nodes[i])
	}
	return out
}

func layout(wr *krtv1.WorkflowRun) graph {
	byStep := map[string][]nodeView{}
	for i := range wr.Status.Nodes {
		v := viewOf(wr, &wr.Status.Nodes[i])
		step := dag.StepOf(v.Name)
		byStep[step] = append(byStep[step], v)
	}
	g := graph{Sections: []section{layoutSection("steps", wr, wr.Spec.Definition.Steps, byStep)}}
	if fin := wr.Spec.Definition.Finally; len(fin) > 0 {
		g.Sections = append(g.Sections, layoutSection("finally", wr, fin, byStep))
	}
	return g
}

// layoutSection puts each step in the column after the deepest step it
// needs, stacks each column's boxes, then draws an edge per need.
func layoutSection(title string, wr *krtv1.WorkflowRun, steps []krtv1.Step, byStep map[string][]nodeView) section {
	col := columns(steps)
	sec := section{Title: title}
	next := map[int]int{} // the next free y of each column
	boxes := map[string]*box{}
	for i := range steps {
		s := &steps[i]
		b := stepBox(wr, s, byStep[s.Name])
		c := col[s.Name]
		b.X, b.Y, b.W = pad+c*(colW+gapX), pad+next[c], colW
		next[c] += b.H + gapY
		boxes[s.Name] = b
		sec.Boxes = append(sec.Boxes, b)
		sec.Width = max(sec.Width, b.X+b.W+pad)
		sec.Height = max(sec.Height, b.Y+b.H+pad)
	}
	for i := range steps {
		to := boxes[steps[i].Name]
		for _, need := range dag.Needs(&steps[i], steps) {
			if from := boxes[need]; from != nil {
				sec.Edges = append(sec.Edges, edge(from, to))
			}
		}
	}
	return sec
}

// edge is a curve from the right of one box to the left of another.
func edge(from, to *box) string {
	x1, y1 := from.X+from.W, from.Y+min(from.H/2, nodeH/2)
	x2, y2 := to.X, to.Y+min(to.H/2, nodeH/2)
	mid := (x1 + x2) / 2
	return fmt.Sprintf("M%d %d C%d %d %d %d %d %d", x1, y1, mid, y1, mid, y2, x2, y2)
}

func stepBox(wr *krtv1.WorkflowRun, s *krtv1.Step, nodes []nodeView) *box {
	b := &box{Step: s.Name, Nodes: nodes}
	switch {
	case s.ForEach != nil:
		b.Group, b.Kind = true, "forEach"
	case len(s.Matrix) > 0:
		b.Group, b.Kind = true, "matrix"
	}
	if len(nodes) == 0 {
		// Not started: the step as one pending node.
		b.Nodes = []nodeView{{Name: s.Name, Label: s.Name, Phase: "Pending", Symbol: symbol("Pending"), Gate: s.Approval != nil}}
	}
	if !b.Group {
		b.H, b.Phase = nodeH, b.Nodes[0].Phase
		return b
	}
	done := 0
	for _, n := range nodes {
		if krtv1.NodePhase(n.Phase).Done() {
			done++
		}
	}
	b.Phase = stepPhase(s.Name, wr)
	b.Summary = fmt.Sprintf("%d/%d done", done, len(nodes))
	b.H = headH + min(len(b.Nodes), maxGroupRows)*rowH + 8
	return b
}

// stepPhase folds a step's nodes as the engine does.
func stepPhase(step string, wr *krtv1.WorkflowRun) string {
	var nodes []krtv1.NodeStatus
	for _, n := range wr.Status.Nodes {
		if dag.StepOf(n.Name) == step {
			nodes = append(nodes, n)
		}
	}
	if len(nodes) == 0 {
		return "Pending"
	}
	return phaseOr(string(dag.Summarize(step, nodes).Phase))
}

// columns gives each step its depth: 0 for a step that needs nothing,
// else one more than the deepest step it needs.
func columns(steps []krtv1.Step) map[string]int {
	byName := map[string]*krtv1.Step{}
	for i := range steps {
		byName[steps[i].Name] = &steps[i]
	}
	col := map[string]int{}
	var depth func(name string, seen map[string]bool) int
	depth = func(name string, seen map[string]bool) int {
		if c, ok := col[name]; ok {
			return c
		}
		s := byName[name]
		if s == nil || seen[name] { // not in this section, or a cycle the parser would have refused
			return -1
		}
		seen[name] = true
		c := 0
		for _, need := range dag.Needs(s, steps) {
			c = max(c, depth(need, seen)+1)
		}
		col[name] = c
		return c
	}
	for i := range steps {
		depth(steps[i].Name, map[string]bool{})
	}
	return col
}
