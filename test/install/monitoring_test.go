package install

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/labels"
	"sigs.k8s.io/yaml"

	krtv1 "krt.dev/krt/api/v1alpha1"
)

var monitoringSwitches = []string{"monitoring.serviceMonitor.enabled=true", "monitoring.podMonitor.enabled=true",
	"monitoring.prometheusRule.enabled=true", "monitoring.dashboard.enabled=true"}

// TestChartMonitoringOffByDefault: a plain install needs no Prometheus
// Operator CRDs and no Grafana.
func TestChartMonitoringOffByDefault(t *testing.T) {
	for _, o := range render(t) {
		switch o.GetKind() {
		case "ServiceMonitor", "PodMonitor", "PrometheusRule":
			t.Errorf("rendered %s by default", describe(o))
		case "ConfigMap":
			if o.GetLabels()["grafana_dashboard"] != "" {
				t.Errorf("rendered the dashboard %s by default", describe(o))
			}
		}
	}
}

// TestChartMonitoringObjects renders every switch on and reads each object
// as the Prometheus Operator's own types, refusing unknown fields.
func TestChartMonitoringObjects(t *testing.T) {
	objs := render(t, monitoringSwitches...)

	sm := &monitoringv1.ServiceMonitor{}
	strict(t, find(t, objs, "ServiceMonitor", "krt-controller"), sm)
	svc := &corev1.Service{}
	strict(t, find(t, objs, "Service", "krt-metrics"), svc)
	sel, err := labels.ValidatedSelectorFromSet(sm.Spec.Selector.MatchLabels)
	if err != nil || !sel.Matches(labels.Set(svc.Labels)) {
		t.Errorf("the ServiceMonitor's selector %v does not pick the metrics Service (labels %v): %v", sm.Spec.Selector, svc.Labels, err)
	}
	if webhook := find(t, objs, "Service", "krt-webhook"); sel.Matches(labels.Set(webhook.GetLabels())) {
		t.Errorf("the ServiceMonitor's selector also picks the webhook Service")
	}
	if len(sm.Spec.Endpoints) != 1 || sm.Spec.Endpoints[0].Port != svc.Spec.Ports[0].Name {
		t.Errorf("ServiceMonitor endpoints = %+v, want the Service's port %q", sm.Spec.Endpoints, svc.Spec.Ports[0].Name)
	}

	pm := &monitoringv1.PodMonitor{}
	strict(t, find(t, objs, "PodMonitor", "krt-runtimed"), pm)
	if e := pm.Spec.PodMetricsEndpoints; len(e) != 1 || e[0].Port == nil || *e[0].Port != krtv1.MetricsPortName {
		t.Errorf("PodMonitor endpoints = %+v, want port %s", e, krtv1.MetricsPortName)
	}
	if m := pm.Spec.Selector.MatchExpressions; len(m) != 1 || m[0].Key != krtv1.LabelRuntime {
		t.Errorf("PodMonitor selector = %+v, want runtime pods (%s)", pm.Spec.Selector, krtv1.LabelRuntime)
	}

	rule := &monitoringv1.PrometheusRule{}
	strict(t, find(t, objs, "PrometheusRule", "krt-alerts"), rule)
	var want monitoringv1.PrometheusRuleSpec
	data, err := os.ReadFile(filepath.Join(root, "charts/krt/files/monitoring/alerts.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.UnmarshalStrict(data, &want); err != nil {
		t.Fatalf("files/monitoring/alerts.yaml: %v", err)
	}
	if !reflect.DeepEqual(rule.Spec, want) {
		t.Errorf("the PrometheusRule's spec differs from files/monitoring/alerts.yaml")
	}
	if len(want.Groups) == 0 || len(want.Groups[0].Rules) < 5 {
		t.Errorf("alerts.yaml has %d groups, want the five alerts", len(want.Groups))
	}

	cm := &corev1.ConfigMap{}
	strict(t, find(t, objs, "ConfigMap", "krt-dashboard"), cm)
	if cm.Labels["grafana_dashboard"] != "1" {
		t.Errorf("dashboard labels = %v, want grafana_dashboard=1 for Grafana's sidecar", cm.Labels)
	}
	dash, err := os.ReadFile(filepath.Join(root, "charts/krt/files/monitoring/dashboard.json"))
	if err != nil {
		t.Fatal(err)
	}
	got := cm.Data["krt.json"]
	if !json.Valid([]byte(got)) || got != string(bytes.TrimRight(dash, "\n")) {
		t.Errorf("the ConfigMap's krt.json is not files/monitoring/dashboard.json (valid JSON: %v)", json.Valid([]byte(got)))
	}
}

// strict decodes a rendered object into typed, refusing fields the type
// does not have: a misspelt field would be dropped by the API server.
func strict(t *testing.T, u *unstructured.Unstructured, typed any) {
	t.Helper()
	data, err := json.Marshal(u.Object)
	if err != nil {
		t.Fatal(err)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(typed); err != nil {
		t.Errorf("%s: %v", describe(u), err)
	}
}
