package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"time"

	krtv1 "krt.dev/krt/api/v1alpha1"
)

// bigRunSize runs a workflow of 2,000 nodes to the end and weighs its
// WorkflowRun as the API server returns it, which is what etcd stores
// (a custom resource is stored as JSON, managed fields and all). One
// forEach may have at most 1,000 items, so it takes two steps of 1,000.
// The size hardly varies, so it is measured once; the time is extra.
func (b *bench) bigRunSize(ctx context.Context, ns string) error {
	spec := krtv1.WorkflowSpec{Steps: []krtv1.Step{
		forEachStep("fan-a", forEachMaxItems), forEachStep("fan-b", forEachMaxItems)}}
	wf, err := b.createWorkflow(ctx, ns, "big", spec)
	if err != nil {
		return err
	}
	var end *krtv1.WorkflowRun
	c, err := b.measure(ctx, ns, []int{bigRunNodes}, func(*tracker) (d time.Duration, err error) {
		if end, d, err = b.runWorkflow(ctx, wf); err != nil {
			return 0, err
		}
		return d, b.weigh(ctx, end)
	})
	if err != nil {
		return fmt.Errorf("the %d-node run: %w", bigRunNodes, err)
	}
	b.results["wf_big_ms"] = round(c.ms)
	b.results["wf_big_per_node"] = c.perNode
	b.results["wf_big_writes"] = c.writes
	fmt.Fprintf(os.Stderr, "bench: %d-node run: %v bytes (%v nodes) in %.0fms; per node %v\n",
		bigRunNodes, b.results["wf_big_bytes"], len(end.Status.Nodes), c.ms, c.perNode)
	return nil
}

// weigh records the size of a WorkflowRun as a Get returns it, and the
// parts of it: the node list, and the managed fields.
func (b *bench) weigh(ctx context.Context, wr *krtv1.WorkflowRun) error {
	raw, err := b.env.RawClient().Get().
		AbsPath("/apis", krtv1.GroupVersion.Group, krtv1.GroupVersion.Version, "namespaces", wr.Namespace, "workflowruns", wr.Name).
		DoRaw(ctx)
	if err != nil {
		return err
	}
	var parts struct {
		Metadata struct {
			ManagedFields json.RawMessage `json:"managedFields"`
		} `json:"metadata"`
		Spec   json.RawMessage `json:"spec"`
		Status struct {
			Nodes []json.RawMessage `json:"nodes"`
		} `json:"status"`
	}
	if err := json.Unmarshal(raw, &parts); err != nil {
		return err
	}
	nodes, err := json.Marshal(parts.Status.Nodes)
	if err != nil {
		return err
	}
	n := len(parts.Status.Nodes)
	if n != bigRunNodes {
		return fmt.Errorf("the run has %d nodes, want %d", n, bigRunNodes)
	}
	b.results["wf_big_nodes"] = n
	b.results["wf_big_bytes"] = len(raw)
	b.results["wf_big_mib"] = round2(float64(len(raw)) / (1 << 20))
	b.results["wf_big_status_nodes_bytes"] = len(nodes)
	b.results["wf_big_spec_bytes"] = len(parts.Spec)
	b.results["wf_big_managed_fields_bytes"] = len(parts.Metadata.ManagedFields)
	b.results["wf_big_bytes_per_node"] = round(float64(len(nodes)) / float64(n))
	b.results["wf_big_vs_etcd_limit"] = round2(float64(len(raw)) / etcdObjectLimitByte)
	// How many such nodes would reach the limit, the rest of the object
	// kept as it is: the headroom in the terms a workflow author has.
	b.results["wf_nodes_at_etcd_limit"] = int((etcdObjectLimitByte - float64(len(raw)-len(nodes))) / (float64(len(nodes)) / float64(n)))
	return nil
}

// printWorkflows adds the workflow figures to the table.
func (b *bench) printWorkflows(w io.Writer) {
	r := b.results
	if _, ok := r["wf_chain_ms"]; ok {
		fmt.Fprintf(w, "100-step chain, create→Succeeded ms\t%v\tbare chain %v ms\t%v\t-\n", r["wf_chain_ms"], r["wf_chain_bare_ms"], r["wf_chain_vs_bare"])
		fmt.Fprintf(w, "  workflow overhead per step, ms\t%v\t-\t%v of target\t≤ 10 ms\n", r["wf_chain_overhead_ms_per_step"], r["wf_chain_overhead_vs_target"])
	}
	if _, ok := r["wf_fanout_ms"]; ok {
		fmt.Fprintf(w, "500-wide fan-out + 1 step, create→Succeeded ms\t%v\t500 bare Runs at once + 1: %v ms\t%v\t-\n", r["wf_fanout_ms"], r["wf_fanout_bare_ms"], r["wf_fanout_vs_bare"])
	}
	if _, ok := r["wf_big_bytes"]; ok {
		fmt.Fprintf(w, "WorkflowRun of %v nodes, JSON MiB\t%v\tetcd limit 1.5 MiB\t%v\twell under\n", r["wf_big_nodes"], r["wf_big_mib"], r["wf_big_vs_etcd_limit"])
		fmt.Fprintf(w, "  its bytes per node; nodes at the limit\t%v; %v\t-\t-\t-\n", r["wf_big_bytes_per_node"], r["wf_nodes_at_etcd_limit"])
		fmt.Fprintf(w, "  time to run the %v nodes, ms\t%v\t-\t-\t-\n", r["wf_big_nodes"], r["wf_big_ms"])
	}
}

// printWorkflowCosts lists what each workflow figure cost per node, beside
// what the bare Runs cost.
func (b *bench) printWorkflowCosts() {
	names := append(append([]string(nil), krtProcesses...), "writes_runs", "writes_runs_409", "writes_workflowruns",
		"writes_workflowruns_409", "writes_runs_bytes", "writes_workflowruns_bytes", "reaction_ms", "create_span_ms", "run_ms", "run_p50_ms")
	for _, key := range []string{"chain", "fanout"} {
		per, ok := b.results["wf_"+key+"_per_node"].(map[string]map[string]float64)
		if !ok {
			continue
		}
		fmt.Printf("\nPer node of the %s figure, workflow (and bare Runs): CPU ms, API writes, times ms\n", key)
		for _, name := range names {
			fmt.Printf("  %-24s %8s  (%s)\n", name, cell(per["workflow"], name), cell(per["bare"], name))
		}
	}
	if per, ok := b.results["wf_big_per_node"].(map[string]float64); ok {
		fmt.Printf("\nPer node of the %v-node run: CPU ms, API writes, times ms\n", b.results["wf_big_nodes"])
		for _, name := range names {
			fmt.Printf("  %-24s %8s\n", name, cell(per, name))
		}
		fmt.Printf("  all its writes: %v\n", b.results["wf_big_writes"])
	}
}

// cell prints a value, or "-" where the shape has none (a reaction needs
// two waves).
func cell(m map[string]float64, key string) string {
	v, ok := m[key]
	if !ok {
		return "-"
	}
	return fmt.Sprintf("%.2f", v)
}
