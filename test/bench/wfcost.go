package main

import (
	"context"
	"sort"
	"time"
)

// cost is one measured repeat: its time, the API writes to Runs and
// WorkflowRuns (all, and those refused with a 409), and per node the CPU
// each process spent (ms), those writes, and where the time went as the
// Run watch saw it (see waveTimes).
type cost struct {
	ms      float64
	writes  map[string]float64
	perNode map[string]float64
}

// measure times fn and takes what it cost, then cleans the namespace.
// waves is the figure's shape: the number of Runs of each step in turn.
// fn gets a watch of the namespace's Runs, which both sides of a figure
// have, so that neither pays for a watch the other does not.
func (b *bench) measure(ctx context.Context, ns string, waves []int, fn func(*tracker) (time.Duration, error)) (cost, error) {
	nodes := 0
	for _, w := range waves {
		nodes += w
	}
	w0, err := b.writesByResource(ctx)
	if err != nil {
		return cost{}, err
	}
	tr, err := track(ctx, b.watcher, ns)
	if err != nil {
		return cost{}, err
	}
	cpu0 := cpuByProcess(krtProcesses...)
	d, err := fn(tr)
	tr.stop()
	if err != nil {
		return cost{}, err
	}
	per := cpuPerRun(cpu0, cpuByProcess(krtProcesses...), nodes)
	w1, err := b.writesByResource(ctx)
	if err != nil {
		return cost{}, err
	}
	writes := map[string]float64{}
	for _, res := range []string{"runs", "runs_409", "workflowruns", "workflowruns_409", "runs_bytes", "workflowruns_bytes"} {
		writes[res] = w1[res] - w0[res]
		per["writes_"+res] = round2(writes[res] / float64(nodes))
	}
	for k, v := range tr.waveTimes(waves) {
		per[k] = v
	}
	return cost{ms: ms(d), writes: writes, perNode: per}, b.cleanWorkflows(ctx, ns)
}

// waveTimes splits a measured shape's time between its waves, from when
// the Run watch first saw each Run and saw it end, in ms:
//   - reaction_ms, the mean time from the last Run of a wave ending to the
//     first Run of the next being seen: the engine's part between steps,
//     or the bench's create for bare Runs;
//   - create_span_ms, the mean time from the first to the last Run of a
//     wave being seen: how long a step's Runs take to be created;
//   - run_ms and run_p50_ms, the mean and median Run from seen to ended.
func (t *tracker) waveTimes(waves []int) map[string]float64 {
	t.mu.Lock()
	defer t.mu.Unlock()
	type span struct{ seen, done time.Time }
	var spans []span
	for name, done := range t.doneAt {
		seen := done
		for _, at := range t.seen[name] {
			seen = minTime(seen, at)
		}
		spans = append(spans, span{seen, done})
	}
	sort.Slice(spans, func(i, j int) bool { return spans[i].seen.Before(spans[j].seen) })
	var reactions, creates, runs []float64
	var prevDone time.Time
	for _, w := range waves {
		if len(spans) < w {
			break // the shape did not run as given; report what did
		}
		wave := spans[:w]
		spans = spans[w:]
		if !prevDone.IsZero() {
			reactions = append(reactions, ms(wave[0].seen.Sub(prevDone)))
		}
		creates = append(creates, ms(wave[len(wave)-1].seen.Sub(wave[0].seen)))
		prevDone = time.Time{}
		for _, s := range wave {
			runs = append(runs, ms(s.done.Sub(s.seen)))
			if s.done.After(prevDone) {
				prevDone = s.done
			}
		}
	}
	out := map[string]float64{"create_span_ms": round(mean(creates)), "run_ms": round(mean(runs)), "run_p50_ms": round(median(runs))}
	if len(reactions) > 0 {
		out["reaction_ms"] = round(mean(reactions))
	}
	return out
}

func minTime(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}

func mean(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	sum := 0.0
	for _, x := range xs {
		sum += x
	}
	return sum / float64(len(xs))
}
