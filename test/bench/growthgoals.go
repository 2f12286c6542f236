package main

import (
	"fmt"
	"math"
	"os"
	"text/tabwriter"
)

// goalGrowthRatio is goal 5's "flat", as measured: the cost at a curve's
// far end within this factor of its near end. Repeats on this shared
// machine differ by about as much, so a curve inside it is flat as far as
// the bench can tell.
const goalGrowthRatio = 1.2

// slope is one curve's growth, in the unit its name says.
type slope struct {
	// CPUPerUnit is the total CPU per Run (per node for workflows) added
	// per unit of the curve: per added pod, per 1,000 Pending Runs, per
	// 1,000 nodes.
	CPUPerUnit float64 `json:"cpu_ms_per_run_per_unit"`
	// ControllerPerUnit is krt-controller's share of it.
	ControllerPerUnit float64 `json:"krt_controller_ms_per_run_per_unit"`
	// RunsPerSecondPerUnit is the change in Runs/s (none for workflows).
	RunsPerSecondPerUnit float64 `json:"runs_per_second_per_unit,omitempty"`
	Unit                 string  `json:"unit"`
	Near                 float64 `json:"cpu_ms_near"`
	Far                  float64 `json:"cpu_ms_far"`
	Ratio                float64 `json:"far_vs_near"`
	// LessIdleRatio is Ratio with each point's idle pool cost taken out
	// (growthPoint.LessIdle): the pods curve's goal figure.
	LessIdleRatio float64 `json:"far_vs_near_less_idle,omitempty"`
}

func slopeOf(near, far map[string]float64, nearRate, farRate, units float64, unit string) slope {
	n, f := sumProcesses(near), sumProcesses(far)
	s := slope{Unit: unit, Near: round2(n), Far: round2(f),
		CPUPerUnit:           round3((f - n) / units),
		ControllerPerUnit:    round3((far["krt-controller"] - near["krt-controller"]) / units),
		RunsPerSecondPerUnit: round3((farRate - nearRate) / units)}
	if n > 0 {
		s.Ratio = round2(f / n)
	}
	return s
}

// growthSlopes are the three curves' slopes: the pods and backlog curves
// of this run, and the workflow curve from the 500-wide fan-out to the
// 2,000-node run when -only wf (or the full bench) measured them.
func (b *bench) growthSlopes() map[string]slope {
	out := map[string]slope{}
	if pods, ok := b.results["growth_pods"].([]growthPoint); ok && len(pods) > 1 {
		a, z := pods[0], pods[len(pods)-1]
		s := slopeOf(a.CPU, z.CPU, a.RunsPerSecond, z.RunsPerSecond, float64(z.Pods-a.Pods), "added pod")
		if a.LessIdle > 0 && z.LessIdle > 0 {
			s.LessIdleRatio = round2(z.LessIdle / a.LessIdle)
		}
		out["pods"] = s
	}
	if bl, ok := b.results["growth_backlog"].([]growthPoint); ok && len(bl) > 1 {
		a, z := bl[0], bl[len(bl)-1]
		out["backlog"] = slopeOf(a.CPU, z.CPU, a.RunsPerSecond, z.RunsPerSecond, float64(z.Backlog-a.Backlog)/1000, "1,000 Pending Runs")
	}
	fan, ok1 := b.results["wf_fanout_per_node"].(map[string]map[string]float64)
	big, ok2 := b.results["wf_big_per_node"].(map[string]float64)
	if ok1 && ok2 {
		nodes := float64(bigRunNodes-(fanOutWidth+1)) / 1000
		out["workflow_nodes"] = slopeOf(fan["workflow"], big, 0, 0, nodes, "1,000 nodes")
	}
	return out
}

// growthGoals is goal 5: each curve flat.
func (b *bench) growthGoals() []goal {
	slopes := b.growthSlopes()
	if len(slopes) == 0 {
		return nil
	}
	b.results["growth_slopes"] = slopes
	var out []goal
	for _, c := range []struct{ key, name, near, far string }{
		{"pods", "5. CPU per Run per added pod, ms", "2 pods", "200 pods"},
		{"backlog", "5. CPU per Run per 1,000 Pending, ms", "backlog 0", "backlog 10,000"},
		{"workflow_nodes", "5. CPU per node per 1,000 nodes, ms", "500-wide fan-out", "2,000 nodes"},
	} {
		s, ok := slopes[c.key]
		if !ok {
			continue
		}
		baseline := fmt.Sprintf("%s %.2f, %s %.2f ms (%.2f×)", c.near, s.Near, c.far, s.Far, s.Ratio)
		ratio := s.Ratio
		if s.LessIdleRatio > 0 {
			// The pods curve is judged on what Runs cause; the raw ratio,
			// heartbeats included, is printed beside it.
			ratio = s.LessIdleRatio
			baseline += fmt.Sprintf("; less idle heartbeats %.2f×", ratio)
		}
		pass := ratio <= goalGrowthRatio
		out = append(out, goal{Name: c.name, Value: s.CPUPerUnit, Baseline: baseline,
			Target: fmt.Sprintf("flat (≤ %.1f× over the curve)", goalGrowthRatio), OK: &pass})
	}
	return out
}

// printGrowth prints each point of the curves, by process.
func (b *bench) printGrowth() {
	pods, _ := b.results["growth_pods"].([]growthPoint)
	backlog, _ := b.results["growth_backlog"].([]growthPoint)
	if len(pods)+len(backlog) == 0 {
		return
	}
	w := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "\nGROWTH (simulated pods)\tRUNS/S\tAPISERVER\tETCD\tKRT-CONTROLLER\tBENCH+SIM PODS\tTOTAL ms/Run\tIDLE ms/s\tLESS IDLE ms/Run")
	row := func(label string, p growthPoint) {
		idle, less := "-", "-" // not taken with a backlog: the last point's Runs are still being deleted
		if p.IdleMsPerSecond > 0 {
			idle, less = fmt.Sprintf("%.1f", p.IdleMsPerSecond), fmt.Sprintf("%.2f", p.LessIdle)
		}
		fmt.Fprintf(w, "%s\t%.1f\t%.2f\t%.2f\t%.2f\t%.2f\t%.2f\t%s\t%s\n", label, p.RunsPerSecond, p.CPU["kube-apiserver"],
			p.CPU["etcd"], p.CPU["krt-controller"], p.CPU["bench"], p.Total, idle, less)
	}
	for _, p := range pods {
		row(fmt.Sprintf("%d pods × %d slots", p.Pods, p.Capacity), p)
	}
	for _, p := range backlog[min(1, len(backlog)):] {
		row(fmt.Sprintf("%d pods, %d Pending", p.Pods, p.Backlog), p)
	}
	w.Flush()
	if s := b.growthSlopes(); len(s) > 0 {
		for _, k := range []string{"pods", "backlog", "workflow_nodes"} {
			if v, ok := s[k]; ok {
				fmt.Printf("  slope per %s: %+.3f ms CPU per Run (krt-controller %+.3f), %+.3f Runs/s\n",
					v.Unit, v.CPUPerUnit, v.ControllerPerUnit, v.RunsPerSecondPerUnit)
			}
		}
	}
}

func round3(x float64) float64 { return math.Round(x*1000) / 1000 }
