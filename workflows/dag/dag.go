// Package dag is the shape of a run: which steps may start, how a step
// expands into nodes, and what a step's nodes add up to. It holds no
// Kubernetes client; the workflow controller acts on what it decides.
package dag

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"sort"
	"strings"

	krtv1 "krt.dev/krt/api/v1alpha1"
)

// Item is one expansion of a step: the whole step (Key ""), a forEach
// item, or a matrix combination.
type Item struct {
	// Key names the node: "" for an unexpanded step, else the item.
	Key string
	// Value is what `item` is in expressions: a string for forEach, a map
	// for matrix, nil otherwise.
	Value any
}

// NodeName is a node's name in status: "step" or "step[key]".
func NodeName(step, key string) string {
	if key == "" {
		return step
	}
	return step + "[" + key + "]"
}

// StepOf is the step a node belongs to.
func StepOf(node string) string {
	step, _, _ := strings.Cut(node, "[")
	return step
}

// Matrix returns every combination of a matrix, in a stable order: keys
// sorted, values in the order given.
func Matrix(m map[string][]string) []Item {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	combos := []map[string]string{{}}
	for _, k := range keys {
		var next []map[string]string
		for _, c := range combos {
			for _, v := range m[k] {
				n := make(map[string]string, len(c)+1)
				for ck, cv := range c {
					n[ck] = cv
				}
				n[k] = v
				next = append(next, n)
			}
		}
		combos = next
	}
	items := make([]Item, 0, len(combos))
	for _, c := range combos {
		parts := make([]string, 0, len(keys))
		value := make(map[string]any, len(c))
		for _, k := range keys {
			parts = append(parts, k+"="+c[k])
			value[k] = c[k]
		}
		items = append(items, Item{Key: strings.Join(parts, ","), Value: value})
	}
	return items
}

// Summary is what a step's nodes add up to.
type Summary struct {
	Started bool
	Phase   krtv1.NodePhase
	// Outputs are the step's outputs: its one node's, or for an expanded
	// step the outputs every item agreed on.
	Outputs map[string]string
	// Artifacts are the step's artifacts by name, as digests, merged as
	// outputs are.
	Artifacts map[string]string
}

// Summarize folds the nodes of a step. A step is done when all its nodes
// are; it failed if any failed; it is skipped only if all were skipped.
func Summarize(step string, nodes []krtv1.NodeStatus) Summary {
	s := Summary{Phase: krtv1.NodePending}
	var done, failed, skipped, cancelled, total int
	for i := range nodes {
		n := &nodes[i]
		if StepOf(n.Name) != step {
			continue
		}
		total++
		s.Started = true
		switch n.Phase {
		case krtv1.NodeFailed:
			failed++
		case krtv1.NodeSkipped:
			skipped++
		case krtv1.NodeCancelled:
			cancelled++
		}
		if n.Phase.Done() {
			done++
		}
		s.Outputs = mergeOutputs(s.Outputs, n.Outputs, total == 1)
		s.Artifacts = mergeOutputs(s.Artifacts, artifactDigests(n.Artifacts), total == 1)
	}
	switch {
	case total == 0:
	case done < total:
		s.Phase = krtv1.NodeRunning
	case failed > 0:
		s.Phase = krtv1.NodeFailed
	case cancelled > 0:
		s.Phase = krtv1.NodeCancelled
	case skipped == total:
		s.Phase = krtv1.NodeSkipped
	default:
		s.Phase = krtv1.NodeSucceeded
	}
	return s
}

// mergeOutputs keeps the keys on which every node agrees.
func mergeOutputs(acc, next map[string]string, first bool) map[string]string {
	if first {
		return next
	}
	out := map[string]string{}
	for k, v := range acc {
		if next[k] == v {
			out[k] = v
		}
	}
	return out
}

// Blocked says whether a step must wait for its needs, written or
// inferred from what it reads among list, and whether any of them failed
// or was skipped.
func Blocked(step krtv1.Step, list []krtv1.Step, summaries map[string]Summary) (wait bool, failed, skipped []string) {
	for _, need := range Needs(&step, list) {
		s := summaries[need]
		switch {
		case !s.Started || !s.Phase.Done():
			wait = true
		case s.Phase == krtv1.NodeFailed || s.Phase == krtv1.NodeCancelled:
			failed = append(failed, need)
		case s.Phase == krtv1.NodeSkipped:
			skipped = append(skipped, need)
		}
	}
	return wait, failed, skipped
}

// RunName is the deterministic name of a node's Run, so creating it twice
// (after a restart) finds the first one: the run's name, shortened, and a
// hash of the run's UID and the node. The UID keeps apart the Runs of
// namesakes, two hub namespaces (or hubs) whose Clusters share one remote
// namespace; a name alone would let one adopt or cancel the other's Runs.
func RunName(workflowRun, uid, node string) string {
	sum := sha256.Sum256([]byte(workflowRun + "/" + uid + "/" + node))
	h := hex.EncodeToString(sum[:])[:10]
	prefix := workflowRun
	if len(prefix) > 200 {
		prefix = prefix[:200]
	}
	return strings.TrimRight(prefix, "-.") + "-" + h
}

// LabelValue fits a name into a label value (63 characters), keeping it
// readable when short and unique when not.
func LabelValue(name string) string {
	if len(name) <= 63 {
		return name
	}
	sum := sha256.Sum256([]byte(name))
	return fmt.Sprintf("%s-%s", strings.TrimRight(name[:52], "-."), hex.EncodeToString(sum[:])[:10])
}

func artifactDigests(refs []krtv1.ArtifactRef) map[string]string {
	if len(refs) == 0 {
		return nil
	}
	out := make(map[string]string, len(refs))
	for _, r := range refs {
		out[r.Name] = r.Digest
	}
	return out
}
