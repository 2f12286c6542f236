package e2e

import (
	"fmt"
	"net/http"
	"sort"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// scrape is one read of a /metrics endpoint, by family name.
type scrape map[string]*dto.MetricFamily

func scrapeOnce(url string) (scrape, error) {
	resp, err := http.Get(url)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	return p.TextToMetricFamilies(resp.Body)
}

// value sums the samples of a family whose labels include want: a gauge's
// or counter's value, a histogram's count. found says whether any matched.
func (s scrape) value(name string, want map[string]string) (v float64, found bool) {
	f := s[name]
	if f == nil {
		return 0, false
	}
	for _, m := range f.Metric {
		if !hasLabels(m, want) {
			continue
		}
		found = true
		switch {
		case m.Gauge != nil:
			v += m.Gauge.GetValue()
		case m.Counter != nil:
			v += m.Counter.GetValue()
		case m.Histogram != nil:
			v += float64(m.Histogram.GetSampleCount())
		}
	}
	return v, found
}

func hasLabels(m *dto.Metric, want map[string]string) bool {
	got := map[string]string{}
	for _, l := range m.Label {
		got[l.GetName()] = l.GetValue()
	}
	for k, v := range want {
		if got[k] != v {
			return false
		}
	}
	return true
}

// labelValues lists every label value of every krt family.
func (s scrape) labelValues() map[string]string {
	out := map[string]string{}
	for name, f := range s {
		if !strings.HasPrefix(name, "krt_") {
			continue
		}
		for _, m := range f.Metric {
			for _, l := range m.Label {
				out[l.GetValue()] = name + "{" + l.GetName() + "}"
			}
		}
	}
	return out
}

// metric is one expectation: a family, the labels that pick its samples,
// and their sum (a histogram's count).
type metric struct {
	name   string
	labels map[string]string
	want   float64
}

func (m metric) String() string {
	keys := make([]string, 0, len(m.labels))
	for k := range m.labels {
		keys = append(keys, k+"="+m.labels[k])
	}
	sort.Strings(keys)
	return fmt.Sprintf("%s{%s} = %g", m.name, strings.Join(keys, ","), m.want)
}

// waitMetrics scrapes url until every expectation holds, and returns the
// last scrape; the metrics reflect watches and status writes, so they
// settle a moment after the objects.
func waitMetrics(t *testing.T, url string, wants ...metric) scrape {
	t.Helper()
	var last scrape
	var missing []string
	deadline := time.Now().Add(time.Minute)
	for {
		s, err := scrapeOnce(url)
		missing = missing[:0]
		if err != nil {
			missing = append(missing, err.Error())
		} else {
			last = s
			for _, w := range wants {
				if v, ok := s.value(w.name, w.labels); !ok || v != w.want {
					missing = append(missing, fmt.Sprintf("want %s, got %g (found %v)", w, v, ok))
				}
			}
		}
		if len(missing) == 0 {
			return last
		}
		if time.Now().After(deadline) {
			t.Fatalf("scraping %s:\n%s", url, strings.Join(missing, "\n"))
		}
		time.Sleep(200 * time.Millisecond)
	}
}
