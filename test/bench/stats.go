package main

import (
	"fmt"
	"io"
	"math"
	"os"
	"sort"
	"text/tabwriter"
)

// The reference design's published figures (DESIGN.md, Targets).
const (
	referenceRunsPerSecond = 11.3
	referenceP50Millis     = 580
)

func median(xs []float64) float64 {
	if len(xs) == 0 {
		return math.NaN()
	}
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// percentile of sorted xs, nearest rank.
// medianByKey takes the median of each key across samples.
func medianByKey(samples []map[string]float64) map[string]float64 {
	out := map[string]float64{}
	for k := range samples[0] {
		var xs []float64
		for _, s := range samples {
			xs = append(xs, s[k])
		}
		out[k] = median(xs)
	}
	return out
}

func percentile(sorted []float64, p float64) float64 {
	if len(sorted) == 0 {
		return math.NaN()
	}
	i := int(math.Ceil(p/100*float64(len(sorted)))) - 1
	return sorted[max(0, min(i, len(sorted)-1))]
}

func round(x float64) float64  { return math.Round(x*10) / 10 }
func round2(x float64) float64 { return math.Round(x*100) / 100 }

func rounds(xs []float64) []float64 {
	out := make([]float64, len(xs))
	for i, x := range xs {
		out[i] = round(x)
	}
	return out
}

// print writes the figures as a table: each with its baseline and target.
func (b *bench) print() {
	r := b.results
	w := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "FIGURE\tMEDIAN\tBASELINE (same run)\tRATIO\tTARGET")
	if b.opts.wants("runs") {
		b.printRuns(w)
	}
	b.printIsolation(w)
	b.printAutoscale(w)
	b.printNode(w)
	b.printWorkflows(w)
	b.printUI(w)
	b.printArtifacts(w)
	if hook, ok := r["webhook_to_workflow_ms"].(map[string]float64); ok {
		fmt.Fprintf(w, "webhook push→Workflow seen p50 ms (%v pushes)\t%v\tcreate→seen %v ms\t%v\t≤ 500 ms to first Run\n", r["webhook_pushes"], hook["p50"], r["create_to_watch_ms_p50"], r["webhook_to_workflow_p50_vs_create_to_watch"])
		fmt.Fprintf(w, "webhook push→Workflow seen p90 ms\t%v\t-\t-\t-\n", hook["p90"])
	}
	idle, _ := r["controller_memory_idle_mib"].(map[string]float64)
	if mem, ok := r["controller_memory_200_repositories_mib"].(map[string]float64); ok {
		fmt.Fprintf(w, "source controller heap MiB, 200 repos / 20 URLs\t%v\tidle %v MiB\t%v\t-\n", mem["heap_inuse"], idle["heap_inuse"], r["controller_heap_vs_idle"])
		fmt.Fprintf(w, "source controller RSS MiB, 200 repos / 20 URLs\t%v\tidle %v MiB\t%v\t-\n", mem["rss"], idle["rss"], r["controller_rss_vs_idle"])
		fmt.Fprintf(w, "git cache on disk: repos, MiB\t%v, %v\t-\t-\t20 repos\n", r["git_cache_repositories"], r["git_cache_mib"])
	}
	w.Flush()
	if _, ok := r["webhook_to_workflow_ms"]; ok {
		fmt.Printf("\nThe webhook figure stops at the applied Workflow, a step short of the DESIGN's first Run.\n")
	}
	b.printWorkflowCosts()
	b.printCBOR()
	b.printGrowth()
	b.printGoals()
}

// printRuns adds the Run figures to the table.
func (b *bench) printRuns(w io.Writer) {
	r := b.results
	fmt.Fprintf(w, "API writes/s\t%v\t-\t-\t-\n", r["api_writes_per_second"])
	fmt.Fprintf(w, "ceiling Runs/s (writes/s ÷ %d)\t%v\t-\t-\t-\n", runWrites, r["ceiling_runs_per_second"])
	fmt.Fprintf(w, "API writes per Run (server's count)\t%v\t-\t-\t%d\n", r["api_writes_per_run"], runWrites)
	fmt.Fprintf(w, "sustained no-op Runs/s\t%v\tceiling %v\t%v\t≥ 0.8\n", r["runs_per_second"], r["ceiling_runs_per_second"], r["runs_per_second_vs_ceiling"])
	if lat, ok := r["latency_ms"].(map[string]float64); ok {
		fmt.Fprintf(w, "create→Succeeded p50 ms @%v/s\t%v\treference 580 ms\t%v\t≤ 25 ms\n", r["latency_rate_per_second"], lat["p50"], r["latency_p50_vs_reference"])
		fmt.Fprintf(w, "  the same, against 4 serial writes\t%v\t%v ms\t%v\t-\n", lat["p50"], r["four_serial_writes_ms_p50"], r["latency_p50_vs_four_serial_writes"])
		fmt.Fprintf(w, "create→Succeeded p95 ms\t%v\t-\t-\t-\n", lat["p95"])
		fmt.Fprintf(w, "create→Succeeded p99 ms\t%v\t-\t-\t≤ 150 ms\n", lat["p99"])
	}
	fmt.Fprintf(w, "kill -9 runtimed → retried, ms\t%v\tlease %v ms\t%v\t-\n", r["kill_to_retry_ms"], r["lease_duration_ms"], r["kill_to_retry_vs_lease"])
	fmt.Fprintf(w, "kill -9 runtimed → running again, ms\t%v\t-\t-\t-\n", r["kill_to_rerun_ms"])
	fmt.Fprintf(w, "Runs/s vs the reference design\t%v\treference 11.3 Runs/s\t%v\t-\n", r["runs_per_second"], r["runs_per_second_vs_reference"])
}
