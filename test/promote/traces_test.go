package promote

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"sigs.k8s.io/controller-runtime/pkg/client"

	krtv1 "krt.dev/krt/api/v1alpha1"
)

// Each run of a workflow whose second step runs in staging is one trace
// at the OTLP collector: the run as its root, a span per node under it,
// the staging node's included, and its Run's phases under each node. The
// Run in staging carries the node's span as its traceparent.
func TestTracesAcrossClusters(t *testing.T) {
	ns := hub.env.Namespace(t)
	runtime(t, hub, ns, "bash")
	const remoteNS = "traced"
	namespace(t, staging, remoteNS)
	runtime(t, staging, remoteNS, "bash")
	register(t, ns, "staging", staging, remoteNS)
	createWorkflow(t, ns, "traced",
		krtv1.Step{Name: "build", Runtime: "bash", Run: "echo built"},
		krtv1.Step{Name: "deploy", Cluster: "staging", Runtime: "bash", Run: "echo deployed", Needs: []string{"build"}})
	for _, name := range []string{"traced-1", "traced-2"} {
		manualRun(t, ns, "traced", name, nil)
	}
	traces := map[string]string{}
	for _, name := range []string{"traced-1", "traced-2"} {
		wr := waitRun(t, ns, name, "finish", func(wr *krtv1.WorkflowRun) bool { return wr.Status.Phase.Terminal() })
		if wr.Status.Phase != krtv1.WorkflowSucceeded {
			t.Fatalf("%s ended %s", name, describe(wr))
		}
		traces[name] = checkTrace(t, ns, name, node(wr, "deploy").Run)
	}
	if traces["traced-1"] == traces["traced-2"] {
		t.Errorf("two runs share trace %s", traces["traced-1"])
	}
}

// checkTrace waits for a run's spans and checks their shape; it returns
// the run's trace ID.
func checkTrace(t *testing.T, ns, name, remoteRun string) string {
	t.Helper()
	var root receivedSpan
	var spans []receivedSpan
	eventually(t, 30*time.Second, "the spans of "+name, func() (bool, string) {
		spans = nil
		for _, s := range otlp.received() {
			if s.attrs["krt.workflowrun"] == name && s.attrs["krt.namespace"] == ns {
				root = s
			}
		}
		if root.id == "" {
			return false, "no root span yet"
		}
		for _, s := range otlp.received() {
			if s.trace == root.trace {
				spans = append(spans, s)
			}
		}
		// The root, two nodes, and three phases of each node's Run.
		return len(spans) >= 9, describeSpans(spans)
	})
	byID := map[string]receivedSpan{}
	for _, s := range spans {
		if _, dup := byID[s.id]; dup {
			t.Errorf("span %s (%s) sent twice", s.id, s.name)
		}
		byID[s.id] = s
	}
	if root.parent != "" || root.service != "krt-controller" || root.name != "workflowrun traced" || root.attrs["krt.phase"] != "Succeeded" {
		t.Errorf("root span: %+v", root)
	}
	nodes := map[string]receivedSpan{}
	for _, s := range spans {
		switch {
		case s.id == root.id:
		case strings.HasPrefix(s.name, "step "):
			nodes[s.attrs["krt.node"]] = s
			if s.parent != root.id {
				t.Errorf("node span %s has parent %s, not the run's %s", s.name, s.parent, root.id)
			}
		case strings.HasPrefix(s.name, "run "):
			if p := byID[s.parent]; !strings.HasPrefix(p.name, "step ") || p.attrs["krt.node"] != s.attrs["krt.node"] {
				t.Errorf("phase span %s of %s has parent %q, not its node", s.name, s.attrs["krt.node"], p.name)
			}
		default:
			t.Errorf("unexpected span %s", s.name)
		}
	}
	if len(nodes) != 2 || nodes["build"].attrs["krt.cluster"] != "hub" || nodes["deploy"].attrs["krt.cluster"] != "staging" ||
		nodes["deploy"].attrs["krt.attempt"] != "1" {
		t.Errorf("node spans:\n%s", describeSpans(spans))
	}
	if len(spans) != 9 {
		t.Errorf("%d spans in the trace, want 9:\n%s", len(spans), describeSpans(spans))
	}
	// The Run in staging joins the trace under its node.
	run := &krtv1.Run{}
	if err := staging.env.Client.Get(context.Background(), client.ObjectKey{Namespace: "traced", Name: remoteRun}, run); err != nil {
		t.Fatal(err)
	}
	if want := "00-" + root.trace + "-" + nodes["deploy"].id + "-01"; run.Annotations[krtv1.AnnotationTraceparent] != want {
		t.Errorf("staging's Run has traceparent %q, want %q", run.Annotations[krtv1.AnnotationTraceparent], want)
	}
	return root.trace
}

func describeSpans(spans []receivedSpan) string {
	var lines []string
	for _, s := range spans {
		lines = append(lines, fmt.Sprintf("%s %s parent=%s %v", s.id, s.name, s.parent, s.attrs))
	}
	sort.Strings(lines)
	return strings.Join(lines, "\n")
}

// checkRestartedTrace checks a run whose controller was killed along the
// way: its spans are still one trace with one root, none sent twice, and
// the nodes that ended after the last kill are there under the root. (A
// span buffered when the process was killed may be lost, so the nodes
// that ended before are not required.)
func checkRestartedTrace(t *testing.T, ns, name string, nodes ...string) map[string]receivedSpan {
	t.Helper()
	have := map[string]receivedSpan{}
	eventually(t, 30*time.Second, "the trace of "+name, func() (bool, string) {
		var roots []receivedSpan
		for _, s := range otlp.received() {
			if s.attrs["krt.workflowrun"] == name && s.attrs["krt.namespace"] == ns {
				roots = append(roots, s)
			}
		}
		if len(roots) != 1 {
			return false, fmt.Sprintf("%d root spans", len(roots))
		}
		seen := map[string]bool{}
		var spans []receivedSpan
		for _, s := range otlp.received() {
			if s.trace != roots[0].trace {
				continue
			}
			spans = append(spans, s)
			if seen[s.id] {
				t.Fatalf("span %s (%s) sent twice:\n%s", s.id, s.name, describeSpans(spans))
			}
			seen[s.id] = true
			if s.attrs["krt.node.kind"] != "" && s.parent == roots[0].id {
				have[s.attrs["krt.node"]] = s
			}
		}
		for _, n := range nodes {
			if _, ok := have[n]; !ok {
				return false, "no span of node " + n + ":\n" + describeSpans(spans)
			}
		}
		return true, ""
	})
	return have
}

// checkNodeSpans checks that every node of a finished run has its span in
// the run's one trace, with its kind and cluster.
func checkNodeSpans(t *testing.T, wr *krtv1.WorkflowRun, approvals ...string) {
	t.Helper()
	var names []string
	for _, n := range wr.Status.Nodes {
		names = append(names, n.Name)
	}
	spans := checkRestartedTrace(t, wr.Namespace, wr.Name, names...)
	for _, n := range wr.Status.Nodes {
		s, kind, cluster := spans[n.Name], "step", n.Cluster
		if slices.Contains(approvals, n.Name) {
			kind = "approval"
		}
		if cluster == "" {
			cluster = "hub"
		}
		if s.name != kind+" "+n.Name || s.attrs["krt.cluster"] != cluster || s.attrs["krt.phase"] != string(n.Phase) {
			t.Errorf("node %s (%s in %s): span %s %v", n.Name, n.Phase, cluster, s.name, s.attrs)
		}
	}
}
