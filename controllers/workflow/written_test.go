package workflow

import (
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	krtv1 "krt.dev/krt/api/v1alpha1"
)

func runAt(rv string, nodes ...string) *krtv1.WorkflowRun {
	wr := &krtv1.WorkflowRun{ObjectMeta: metav1.ObjectMeta{Name: "r", UID: "u", ResourceVersion: rv},
		Status: krtv1.WorkflowRunStatus{Phase: krtv1.WorkflowRunning}}
	for _, n := range nodes {
		wr.Status.Nodes = append(wr.Status.Nodes, krtv1.NodeStatus{Name: n})
	}
	return wr
}

// A pass starts from the engine's own last patch while the cache still
// holds the version it was made from, and from what it held back; a
// cache that moved past both (another writer) wins, and what was held is
// dropped.
func TestWrittenStartsFromTheNewest(t *testing.T) {
	key := types.NamespacedName{Name: "r"}
	var w written
	at := time.Unix(100, 0)
	w.stored(key, "1", runAt("2", "a"), at)

	stored, wr, _, wrote := w.start(key, runAt("1"))
	if stored.ResourceVersion != "2" || len(wr.Status.Nodes) != 1 || !wrote.Equal(at) {
		t.Fatalf("from the version patched: stored %s, %d nodes, at %v; want the answer, 2, 1 node", stored.ResourceVersion, len(wr.Status.Nodes), wrote)
	}
	wr.Status.Nodes = append(wr.Status.Nodes, krtv1.NodeStatus{Name: "b"})
	w.hold(key, stored, wr, map[string]runTimes{"a": {}}, wrote)

	stored, wr, ended, _ := w.start(key, runAt("2", "a"))
	if stored.ResourceVersion != "2" || len(wr.Status.Nodes) != 2 || len(ended) != 1 {
		t.Fatalf("cache caught up: stored %s, %d nodes, %d ended; want 2, the 2 held, 1", stored.ResourceVersion, len(wr.Status.Nodes), len(ended))
	}
	stored, wr, _, wrote = w.start(key, runAt("3", "a"))
	if stored.ResourceVersion != "3" || len(wr.Status.Nodes) != 1 || !wrote.IsZero() {
		t.Fatalf("another writer: stored %s, %d nodes; want the cache's, 3, 1 node", stored.ResourceVersion, len(wr.Status.Nodes))
	}
	if _, wr, _, _ = w.start(key, runAt("2", "a")); len(wr.Status.Nodes) != 1 {
		t.Fatal("what was held outlived another writer's version")
	}

	done := runAt("5", "a")
	done.Status.Phase = krtv1.WorkflowSucceeded
	w.stored(key, "4", done, at)
	if len(w.runs) != 0 {
		t.Fatal("an ended run is still remembered")
	}
}

// Only a running run's nodes may wait for the next patch.
func TestOnlyNodesMayWait(t *testing.T) {
	before := runAt("1", "a")
	nodes := runAt("1", "a", "b")
	if !mayWait(before, nodes) {
		t.Error("a new node must be able to wait")
	}
	ended := nodes.DeepCopy()
	ended.Status.Phase = krtv1.WorkflowSucceeded
	msg := nodes.DeepCopy()
	msg.Status.Message = "x"
	audited := nodes.DeepCopy()
	audited.Status.History = []krtv1.AuditEntry{{Action: krtv1.AuditCancel}}
	for name, wr := range map[string]*krtv1.WorkflowRun{"the end": ended, "a message": msg, "an audit entry": audited} {
		if mayWait(before, wr) {
			t.Errorf("%s waits", name)
		}
	}
}
