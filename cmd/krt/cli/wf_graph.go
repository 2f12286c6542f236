package cli

import (
	"fmt"
	"io"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/spf13/cobra"

	krtv1 "krt.dev/krt/api/v1alpha1"
	"krt.dev/krt/workflows/dag"
)

func (r *root) wfGraphCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "graph RUN [-o wide|yaml|json]",
		Short: "Show a run's steps and where each of its nodes is",
		Long: `Graph lists a run's steps in the order of its definition, then its finally
steps, each with a symbol for its phase:

  ✓ Succeeded  ✗ Failed  ● Running  ⏸ Waiting  ○ Pending  – Skipped  ⊘ Cancelled

A step expanded by forEach or matrix lists its nodes under it. A step not
started yet says what it needs. -o wide shows every step's needs and each
node's Run; -o yaml or json prints the WorkflowRun itself.`,
		Args:              cobra.ExactArgs(1),
		ValidArgsFunction: r.complete(1, listWorkflowRuns(nil)),
	}
	output := addOutputFlag(cmd, outWide, outYAML, outJSON)
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		s, err := r.wfSession()
		if err != nil {
			return err
		}
		wr, err := s.run(cmd.Context(), args[0])
		if err != nil {
			return err
		}
		if isTable(output.value) {
			return wfRenderGraph(r.Out, wr, output.value == outWide)
		}
		return workflowRunPrinter.print(r.Out, printOptions{output: output.value}, []krtv1.WorkflowRun{*wr}, time.Now())
	}
	return cmd
}

var wfSymbols = map[krtv1.NodePhase]string{
	krtv1.NodeSucceeded: "✓",
	krtv1.NodeFailed:    "✗",
	krtv1.NodePending:   "○",
	krtv1.NodeRunning:   "●",
	krtv1.NodeWaiting:   "⏸",
	krtv1.NodeSkipped:   "–",
	krtv1.NodeCancelled: "⊘",
}

func wfSymbol(p krtv1.NodePhase) string {
	if s, ok := wfSymbols[p]; ok {
		return s
	}
	return wfSymbols[krtv1.NodePending]
}

// wfRow is one line of the graph: a header, a step or a node.
type wfRow struct {
	indent int
	head   string // "symbol name", or a section header
	detail string
}

// wfRenderGraph writes the run's graph. It reads only the run, so it is
// tested without a cluster.
func wfRenderGraph(w io.Writer, wr *krtv1.WorkflowRun, wide bool) error {
	header := fmt.Sprintf("%s (%s)", wr.Name, wfPhase(wr))
	if msg := wfRunMessage(wr); msg != "" {
		header += ": " + msg
	}
	rows := wfStepRows(wr, wr.Spec.Definition.Steps, wide)
	if fin := wr.Spec.Definition.Finally; len(fin) > 0 {
		rows = append(rows, wfRow{head: "finally:"})
		rows = append(rows, wfStepRows(wr, fin, wide)...)
	}
	if _, err := fmt.Fprintln(w, header); err != nil {
		return err
	}
	return wfWriteRows(w, rows)
}

// wfWriteRows aligns the details in one column, counting characters
// rather than bytes since the symbols are multi-byte.
func wfWriteRows(w io.Writer, rows []wfRow) error {
	width := 0
	for _, r := range rows {
		width = max(width, r.indent+utf8.RuneCountInString(r.head))
	}
	for _, r := range rows {
		line := strings.Repeat(" ", r.indent) + r.head
		if r.detail != "" {
			line += strings.Repeat(" ", width-r.indent-utf8.RuneCountInString(r.head)+3) + r.detail
		}
		if _, err := fmt.Fprintln(w, line); err != nil {
			return err
		}
	}
	return nil
}

func wfStepRows(wr *krtv1.WorkflowRun, steps []krtv1.Step, wide bool) []wfRow {
	var rows []wfRow
	for i := range steps {
		s := &steps[i]
		nodes := wfNodesOf(wr, s.Name)
		switch {
		case len(nodes) == 0:
			rows = append(rows, wfRow{indent: 2, head: wfSymbol(krtv1.NodePending) + " " + s.Name, detail: wfNeeds(s, steps)})
		case len(nodes) == 1 && nodes[0].Name == s.Name:
			rows = append(rows, wfRow{indent: 2, head: wfSymbol(nodes[0].Phase) + " " + s.Name,
				detail: wfNodeDetail(&nodes[0], s, steps, wide)})
		default:
			rows = append(rows, wfExpandedRows(s, steps, nodes, wide)...)
		}
	}
	return rows
}

// wfExpandedRows are a forEach or matrix step: a line for the step as a
// whole, then one per node.
func wfExpandedRows(s *krtv1.Step, steps []krtv1.Step, nodes []krtv1.NodeStatus, wide bool) []wfRow {
	done := 0
	for _, n := range nodes {
		if n.Phase.Done() {
			done++
		}
	}
	detail := fmt.Sprintf("%d/%d done", done, len(nodes))
	if wide {
		detail = wfJoin(detail, wfNeeds(s, steps))
	}
	rows := []wfRow{{indent: 2, head: wfSymbol(wfStepPhase(s.Name, nodes)) + " " + s.Name, detail: detail}}
	for i := range nodes {
		rows = append(rows, wfRow{indent: 4, head: wfSymbol(nodes[i].Phase) + " " + nodes[i].Name,
			detail: wfNodeDetail(&nodes[i], nil, nil, wide)})
	}
	return rows
}

// wfStepPhase folds a step's nodes as the engine does, except that a
// step whose unfinished nodes all wait shows as waiting, not running.
func wfStepPhase(step string, nodes []krtv1.NodeStatus) krtv1.NodePhase {
	p := dag.Summarize(step, nodes).Phase
	if p != krtv1.NodeRunning {
		return p
	}
	waiting := false
	for _, n := range nodes {
		switch n.Phase {
		case krtv1.NodeRunning:
			return krtv1.NodeRunning
		case krtv1.NodeWaiting:
			waiting = true
		}
	}
	if waiting {
		return krtv1.NodeWaiting
	}
	return krtv1.NodeRunning
}

// wfNodeDetail is what a node's line says besides its phase: where it
// runs, a retry, whether it was memoized or hit its cache, and its message. s is set for a step's only node, so a
// wide graph can show the step's needs on the same line.
func wfNodeDetail(n *krtv1.NodeStatus, s *krtv1.Step, steps []krtv1.Step, wide bool) string {
	var parts []string
	if n.Cluster != "" {
		parts = append(parts, "cluster="+n.Cluster)
	}
	if n.Attempt > 1 {
		parts = append(parts, fmt.Sprintf("attempt=%d", n.Attempt))
	}
	// Whether the step ran, or took its result or cache from the store.
	if n.Memoized {
		parts = append(parts, "memoized")
	}
	if n.CacheHit {
		parts = append(parts, "cache hit")
	}
	if wide && n.Run != "" {
		parts = append(parts, "run="+n.Run)
	}
	if wide && s != nil {
		parts = append(parts, wfNeeds(s, steps))
	}
	if n.Message != "" {
		parts = append(parts, wfOneLine(n.Message, 2*wfMessageWidth))
	}
	return wfJoin(parts...)
}

// wfNeeds says what a step waits for: its needs, then the steps it reads,
// marked as inferred since the file does not name them in needs.
func wfNeeds(s *krtv1.Step, steps []krtv1.Step) string {
	needs := slices.Clone(s.Needs)
	for _, n := range dag.Inferred(s, steps) {
		needs = append(needs, n+" (inferred)")
	}
	if len(needs) == 0 {
		return ""
	}
	return "needs " + strings.Join(needs, ", ")
}

// wfJoin joins the parts that are not empty.
func wfJoin(parts ...string) string {
	var out []string
	for _, p := range parts {
		if p != "" {
			out = append(out, p)
		}
	}
	return strings.Join(out, "  ")
}

// wfNodesOf lists a step's nodes, in status order.
func wfNodesOf(wr *krtv1.WorkflowRun, step string) []krtv1.NodeStatus {
	var out []krtv1.NodeStatus
	for _, n := range wr.Status.Nodes {
		if dag.StepOf(n.Name) == step {
			out = append(out, n)
		}
	}
	return out
}
