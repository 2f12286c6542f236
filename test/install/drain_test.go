package install

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"krt.dev/krt/test/kubetest"
)

// waitDrained reads controller-runtime's workqueue metrics until, for each
// named controller, at least one reconcile has finished and as many have
// finished (work_duration's count) as items became ready (adds_total), on
// two reads in a row with the same counts: nothing is queued or in
// progress, and no reconcile's writes are still arriving as new work.
func waitDrained(t *testing.T, p *kubetest.Process, url string, controllers []string) {
	t.Helper()
	previous := ""
	for deadline := time.Now().Add(time.Minute); ; time.Sleep(100 * time.Millisecond) {
		busy, counts := queuesBusy(url, controllers)
		if !busy && counts == previous {
			t.Logf("krt-controller's queues drained: %s", counts)
			return
		}
		previous = counts
		if p.Exited() || time.Now().After(deadline) {
			t.Fatalf("krt-controller's queues did not drain in a minute (exited %v): %s\n%s", p.Exited(), counts, p.Tail(30))
		}
	}
}

// queuesBusy says whether any of the controllers' queues has work not yet
// done, and what the metrics showed.
func queuesBusy(url string, controllers []string) (bool, string) {
	resp, err := http.Get(url)
	if err != nil {
		return true, err.Error()
	}
	defer resp.Body.Close()
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(resp.Body)
	if err != nil {
		return true, err.Error()
	}
	count := func(family, controller string, value func(*dto.Metric) float64) (float64, bool) {
		f := families[family]
		if f == nil {
			return 0, false
		}
		for _, m := range f.Metric {
			for _, l := range m.Label {
				if l.GetName() == "name" && l.GetValue() == controller {
					return value(m), true
				}
			}
		}
		return 0, false
	}
	var state []string
	busy := false
	for _, c := range controllers {
		adds, ok1 := count("workqueue_adds_total", c, func(m *dto.Metric) float64 { return m.GetCounter().GetValue() })
		done, ok2 := count("workqueue_work_duration_seconds", c, func(m *dto.Metric) float64 {
			return float64(m.GetHistogram().GetSampleCount())
		})
		if !ok1 || !ok2 || done == 0 || adds != done {
			busy = true
		}
		state = append(state, fmt.Sprintf("%s: %v added, %v done", c, adds, done))
	}
	return busy, strings.Join(state, "; ")
}
