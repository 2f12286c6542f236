// Package monitoring checks charts/krt's alert rules with promtool, which
// `make tools` builds from Prometheus's module.
package monitoring

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"sigs.k8s.io/yaml"

	"krt.dev/krt/test/kubetest"
)

const (
	rulesFile = "charts/krt/files/monitoring/alerts.yaml"
	testsFile = "test/monitoring/testdata/alerts_test.yaml"
)

// promtool runs bin/promtool in the repository's root. Without it the
// rules are not tested, so the test fails, naming the missing tool.
func promtool(t *testing.T, args ...string) {
	t.Helper()
	root, err := kubetest.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(root, "bin", "promtool")
	if _, err := os.Stat(bin); err != nil {
		t.Fatalf("bin/promtool is missing: run `make tools` to build it (%v)", err)
	}
	cmd := exec.Command(bin, args...)
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("promtool %v: %v\n%s", args, err, out)
	}
}

func TestAlertRulesAreValid(t *testing.T) {
	promtool(t, "check", "rules", rulesFile)
}

// TestAlertRulesFireAndResolve runs promtool's unit tests of the rules,
// after checking that they cover every alert: each one fires at some time
// and is expected quiet at a later one.
func TestAlertRulesFireAndResolve(t *testing.T) {
	root, err := kubetest.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	var rules struct {
		Groups []struct {
			Rules []struct {
				Alert string `json:"alert"`
			} `json:"rules"`
		} `json:"groups"`
	}
	readYAML(t, filepath.Join(root, rulesFile), &rules)
	var tests struct {
		Tests []struct {
			AlertRuleTest []struct {
				EvalTime  string `json:"eval_time"`
				Alertname string `json:"alertname"`
				ExpAlerts []any  `json:"exp_alerts"`
			} `json:"alert_rule_test"`
		} `json:"tests"`
	}
	readYAML(t, filepath.Join(root, testsFile), &tests)
	fires, resolves := map[string]bool{}, map[string]bool{}
	for _, tc := range tests.Tests {
		fired := false
		for _, a := range tc.AlertRuleTest {
			if len(a.ExpAlerts) > 0 {
				fires[a.Alertname], fired = true, true
			} else if fired {
				resolves[a.Alertname] = true
			}
		}
	}
	for _, g := range rules.Groups {
		for _, r := range g.Rules {
			if !fires[r.Alert] || !resolves[r.Alert] {
				t.Errorf("alert %s: %s has no test where it fires (%v) and later resolves (%v)", r.Alert, testsFile, fires[r.Alert], resolves[r.Alert])
			}
		}
	}
	promtool(t, "test", "rules", testsFile)
}

func readYAML(t *testing.T, path string, into any) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(data, into); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}
