package workflow

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"unicode/utf8"

	krtv1 "krt.dev/krt/api/v1alpha1"
	"krt.dev/krt/workflows/dag"
)

// Limits that keep thousands of nodes well under etcd's object limit.
const (
	maxNodeMessage = 256
	maxNodeOutputs = 16 << 10
	maxKey         = 400 // of a node's "[key]", so a name fits its 512
)

// clip keeps a message short without cutting a UTF-8 character in two.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	cut := n - len("…")
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}

// boundOutputs copies a Run's outputs into a node, dropping keys once
// their total passes maxNodeOutputs; the dropped keys are named, so a
// missing output is explained rather than silently absent.
func boundOutputs(in map[string]string) (map[string]string, []string) {
	if len(in) == 0 {
		return nil, nil
	}
	keys := make([]string, 0, len(in))
	for k := range in {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	out := make(map[string]string, len(in))
	var dropped []string
	total := 0
	for _, k := range keys {
		size := len(k) + len(in[k])
		if total+size > maxNodeOutputs {
			dropped = append(dropped, k)
			continue
		}
		total += size
		out[k] = in[k]
	}
	return out, dropped
}

// nodeKey fits an item into a node name; a long item is cut and made
// unique again with a hash of the whole.
func nodeKey(item string) string {
	if len(item) <= maxKey {
		return item
	}
	sum := sha256.Sum256([]byte(item))
	return strings.ToValidUTF8(item[:maxKey-9], "") + "~" + hex.EncodeToString(sum[:])[:8]
}

var notLabel = regexp.MustCompile(`[^A-Za-z0-9._-]+`)

// labelValue makes a node name a valid label value: "deploy[prod-eu]"
// becomes "deploy_prod-eu". The label is for finding Runs by eye; the
// Run's name, not the label, is what makes it unique.
func labelValue(name string) string {
	v := notLabel.ReplaceAllString(name, "_")
	v = strings.TrimFunc(v, func(r rune) bool {
		return !('a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || '0' <= r && r <= '9')
	})
	return dag.LabelValue(v)
}

// nodes indexes a run's nodes by name and by step. It keeps indexes, not
// pointers, since appending a node may move the slice; a pointer it hands
// out is good until the next add.
type nodes struct {
	wr     *krtv1.WorkflowRun
	idx    map[string]int
	byStep map[string][]int
}

func newNodes(wr *krtv1.WorkflowRun) *nodes {
	n := &nodes{wr: wr, idx: make(map[string]int, len(wr.Status.Nodes)), byStep: map[string][]int{}}
	for i := range wr.Status.Nodes {
		name := wr.Status.Nodes[i].Name
		n.idx[name] = i
		n.byStep[dag.StepOf(name)] = append(n.byStep[dag.StepOf(name)], i)
	}
	return n
}

func (n *nodes) get(name string) *krtv1.NodeStatus {
	i, ok := n.idx[name]
	if !ok {
		return nil
	}
	return &n.wr.Status.Nodes[i]
}

// add appends a node, or returns the one already there by that name.
func (n *nodes) add(node krtv1.NodeStatus) *krtv1.NodeStatus {
	if got := n.get(node.Name); got != nil {
		return got
	}
	i := len(n.wr.Status.Nodes)
	n.wr.Status.Nodes = append(n.wr.Status.Nodes, node)
	n.idx[node.Name] = i
	n.byStep[dag.StepOf(node.Name)] = append(n.byStep[dag.StepOf(node.Name)], i)
	return &n.wr.Status.Nodes[i]
}

// ofStep lists the names of a step's nodes, in status order.
func (n *nodes) ofStep(step string) []string {
	out := make([]string, 0, len(n.byStep[step]))
	for _, i := range n.byStep[step] {
		out = append(out, n.wr.Status.Nodes[i].Name)
	}
	return out
}

// summary folds a step's nodes.
func (n *nodes) summary(step string) dag.Summary {
	of := make([]krtv1.NodeStatus, 0, len(n.byStep[step]))
	for _, i := range n.byStep[step] {
		of = append(of, n.wr.Status.Nodes[i])
	}
	return dag.Summarize(step, of)
}

// failedSteps names the steps with a failed or cancelled node, in order.
func failedSteps(wr *krtv1.WorkflowRun) []string {
	var out []string
	for _, n := range wr.Status.Nodes {
		if n.Phase != krtv1.NodeFailed && n.Phase != krtv1.NodeCancelled {
			continue
		}
		if s := dag.StepOf(n.Name); !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	return out
}

// failureMessage names the failed steps and why the first one failed.
func failureMessage(wr *krtv1.WorkflowRun, steps []string) string {
	why := ""
	for _, n := range wr.Status.Nodes {
		if dag.StepOf(n.Name) == steps[0] && n.Phase == krtv1.NodeFailed && n.Message != "" {
			why = ": " + n.Message
			break
		}
	}
	noun := "step"
	if len(steps) > 1 {
		noun = "steps"
	}
	return fmt.Sprintf("%s %s failed%s", noun, strings.Join(steps, ", "), why)
}
