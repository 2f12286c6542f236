package e2e

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	dto "github.com/prometheus/client_model/go"
	"sigs.k8s.io/yaml"

	"krt.dev/krt/test/kubetest"
)

// checkQueries parses every query of the chart's dashboard and alerts with
// promtool, and fails for each krt metric they name that the endpoints did
// not serve: a renamed family would leave a blank panel or an alert that
// never fires.
func checkQueries(t *testing.T, served scrape) {
	t.Helper()
	root, err := kubetest.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	exprs := dashboardExprs(t, filepath.Join(root, "charts/krt/files/monitoring/dashboard.json"))
	exprs = append(exprs, alertExprs(t, filepath.Join(root, "charts/krt/files/monitoring/alerts.yaml"))...)
	if len(exprs) < 20 {
		t.Fatalf("found %d queries in the dashboard and alerts, want more", len(exprs))
	}
	promtoolParses(t, root, exprs)
	for _, e := range exprs {
		for _, name := range metricName.FindAllString(e, -1) {
			if !servedFamily(served, name) {
				t.Errorf("%q names %s, which krt's endpoints do not serve", e, name)
			}
		}
	}
}

var metricName = regexp.MustCompile(`krt_[a-z0-9_]+`)

// servedFamily says whether name is a served family, or a histogram's
// _bucket, _sum or _count series.
func servedFamily(served scrape, name string) bool {
	if served[name] != nil {
		return true
	}
	for _, suffix := range []string{"_bucket", "_sum", "_count"} {
		if base, ok := strings.CutSuffix(name, suffix); ok && served[base].GetType() == dto.MetricType_HISTOGRAM {
			return true
		}
	}
	return false
}

// grafanaVars stand in for the dashboard's variables, which are not PromQL.
var grafanaVars = strings.NewReplacer("$__rate_interval", "5m", "$namespace", ".*", "$runtime", ".*", "$workflow", ".*")

var labelValues = regexp.MustCompile(`^label_values\((.*),\s*[a-z_]+\)$`)

// dashboardExprs are the panels' queries and the variables' label_values
// selectors.
func dashboardExprs(t *testing.T, path string) []string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var dash struct {
		Panels []struct {
			Targets []struct {
				Expr string `json:"expr"`
			} `json:"targets"`
		} `json:"panels"`
		Templating struct {
			List []struct {
				Type  string `json:"type"`
				Query any    `json:"query"`
			} `json:"list"`
		} `json:"templating"`
	}
	if err := json.Unmarshal(data, &dash); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	var out []string
	for _, p := range dash.Panels {
		for _, target := range p.Targets {
			out = append(out, grafanaVars.Replace(target.Expr))
		}
	}
	for _, v := range dash.Templating.List {
		q, ok := v.Query.(map[string]any)
		if v.Type != "query" || !ok {
			continue
		}
		m := labelValues.FindStringSubmatch(fmt.Sprint(q["query"]))
		if m == nil {
			t.Errorf("dashboard variable query %v: want label_values(selector, label)", q["query"])
			continue
		}
		out = append(out, grafanaVars.Replace(m[1]))
	}
	return out
}

func alertExprs(t *testing.T, path string) []string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var rules struct {
		Groups []struct {
			Rules []struct {
				Expr string `json:"expr"`
			} `json:"rules"`
		} `json:"groups"`
	}
	if err := yaml.Unmarshal(data, &rules); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	var out []string
	for _, g := range rules.Groups {
		for _, r := range g.Rules {
			out = append(out, r.Expr)
		}
	}
	return out
}

// promtoolParses writes the queries as recording rules and has promtool
// check them: Prometheus's own parser.
func promtoolParses(t *testing.T, root string, exprs []string) {
	t.Helper()
	bin := filepath.Join(root, "bin", "promtool")
	if _, err := os.Stat(bin); err != nil {
		t.Fatalf("bin/promtool is missing: run `make tools` to build it (%v)", err)
	}
	type rule struct {
		Record string `json:"record"`
		Expr   string `json:"expr"`
	}
	var rules []rule
	for i, e := range exprs {
		rules = append(rules, rule{Record: fmt.Sprintf("krt:query:%d", i), Expr: e})
	}
	data, err := yaml.Marshal(map[string]any{"groups": []any{map[string]any{"name": "queries", "rules": rules}}})
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), "queries.yaml")
	if err := os.WriteFile(file, data, 0o600); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(bin, "check", "rules", file).CombinedOutput(); err != nil {
		t.Fatalf("promtool check rules on the dashboard's and alerts' queries: %v\n%s", err, out)
	}
}
