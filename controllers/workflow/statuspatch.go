package workflow

import (
	"bytes"
	"encoding/json"
	"fmt"
	"sort"

	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	krtv1 "krt.dev/krt/api/v1alpha1"
)

// patchOp is one RFC 6902 operation.
type patchOp struct {
	Op    string          `json:"op"`
	Path  string          `json:"path"`
	Value json.RawMessage `json:"value,omitempty"`
}

// statusPatch is a JSON patch (RFC 6902) from before's status to after's
// that carries only what changed: a node that changed is replaced at its
// index and a new node appended, where a merge patch would carry the whole
// node list (an atomic list), which grows with the run. Like
// MergeFromWithOptimisticLock, it sets the resourceVersion read, so that a
// pass working from a stale read conflicts (409) and is retried from a
// fresh one: the indices it names are those of the version read.
func statusPatch(before, after *krtv1.WorkflowRun) (client.Patch, error) {
	rv, err := json.Marshal(before.ResourceVersion)
	if err != nil {
		return nil, err
	}
	ops := []patchOp{{Op: "replace", Path: "/metadata/resourceVersion", Value: rv}}
	statusOps, err := statusDiff(&before.Status, &after.Status)
	if err != nil {
		return nil, err
	}
	data, err := json.Marshal(append(ops, statusOps...))
	if err != nil {
		return nil, err
	}
	return client.RawPatch(types.JSONPatchType, data), nil
}

// statusDiff is the operations that turn one status into the other, field
// by field; the nodes list element by element when it only grew.
func statusDiff(before, after *krtv1.WorkflowRunStatus) ([]patchOp, error) {
	old, err := fields(before)
	if err != nil {
		return nil, err
	}
	cur, err := fields(after)
	if err != nil {
		return nil, err
	}
	if len(old) == 0 {
		// A status never written may be absent: add creates or replaces it.
		whole, err := json.Marshal(after)
		return []patchOp{{Op: "add", Path: "/status", Value: whole}}, err
	}
	var ops []patchOp
	for _, key := range unionKeys(old, cur) {
		path := "/status/" + key
		o, inOld := old[key]
		c, inCur := cur[key]
		switch {
		case !inCur:
			ops = append(ops, patchOp{Op: "remove", Path: path})
		case !inOld:
			ops = append(ops, patchOp{Op: "add", Path: path, Value: c})
		case bytes.Equal(o, c):
		case key == "nodes" && len(after.Nodes) >= len(before.Nodes):
			nodeOps, err := nodesDiff(before.Nodes, after.Nodes)
			if err != nil {
				return nil, err
			}
			ops = append(ops, nodeOps...)
		default:
			ops = append(ops, patchOp{Op: "replace", Path: path, Value: c})
		}
	}
	return ops, nil
}

// nodesDiff replaces each changed node by index and appends the new ones.
func nodesDiff(before, after []krtv1.NodeStatus) ([]patchOp, error) {
	var ops []patchOp
	for i := range after {
		c, err := json.Marshal(&after[i])
		if err != nil {
			return nil, err
		}
		if i >= len(before) {
			ops = append(ops, patchOp{Op: "add", Path: "/status/nodes/-", Value: c})
			continue
		}
		o, err := json.Marshal(&before[i])
		if err != nil {
			return nil, err
		}
		if !bytes.Equal(o, c) {
			ops = append(ops, patchOp{Op: "replace", Path: fmt.Sprintf("/status/nodes/%d", i), Value: c})
		}
	}
	return ops, nil
}

// fields is a status's JSON, one raw value per top-level field.
func fields(s *krtv1.WorkflowRunStatus) (map[string]json.RawMessage, error) {
	data, err := json.Marshal(s)
	if err != nil {
		return nil, err
	}
	out := map[string]json.RawMessage{}
	return out, json.Unmarshal(data, &out)
}

// unionKeys is both maps' keys, sorted, so a patch is reproducible.
func unionKeys(a, b map[string]json.RawMessage) []string {
	var keys []string
	for k := range a {
		keys = append(keys, k)
	}
	for k := range b {
		if _, ok := a[k]; !ok {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	return keys
}
