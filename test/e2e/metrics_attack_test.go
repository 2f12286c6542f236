package e2e

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"sigs.k8s.io/controller-runtime/pkg/client"

	krtv1 "krt.dev/krt/api/v1alpha1"
)

// TestMetricsAttacks: whoever may create Runs, or call the webhook
// receiver, cannot grow the metrics' label sets, and runtimed's metrics
// port, the one port of a runtime pod open to scrapers, serves no logs.
func TestMetricsAttacks(t *testing.T) {
	ctx := context.Background()
	ns := setupRuntime(t, "bash", 1, 1)

	t.Run("Runs naming made-up runtimes count under one label", func(t *testing.T) {
		var runs []*krtv1.Run
		for i := range 20 {
			runs = append(runs, newRun(t, ns, krtv1.RunSpec{Runtime: fmt.Sprintf("made-up-%d", i), Script: "true"}))
		}
		t.Cleanup(func() {
			for _, r := range runs {
				_ = env.Client.Delete(ctx, r)
			}
		})
		s := waitMetrics(t, metricsURL,
			metric{"krt_runs", map[string]string{"namespace": ns, "runtime": "(unknown)", "phase": "Pending"}, 20},
			metric{"krt_runs", map[string]string{"namespace": ns, "runtime": "bash", "phase": "Pending"}, 0})
		for v, where := range s.labelValues() {
			if strings.HasPrefix(v, "made-up-") {
				t.Errorf("%s holds %q, a runtime no Runtime defines", where, v)
			}
		}
	})

	t.Run("webhooks to made-up paths count under one label", func(t *testing.T) {
		before, _ := mustScrape(t, metricsURL).value("krt_webhook_deliveries_total", map[string]string{"result": "not_found"})
		for i := range 20 {
			resp, err := http.Post(fmt.Sprintf("%s/hook/made-up-%d", hookURL, i), "application/json", strings.NewReader("{}"))
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusNotFound {
				t.Fatalf("a made-up hook path got %s, want 404", resp.Status)
			}
		}
		s := waitMetrics(t, metricsURL, metric{"krt_webhook_deliveries_total", map[string]string{"result": "not_found"}, before + 20})
		for v, where := range s.labelValues() {
			if strings.Contains(v, "made-up-") {
				t.Errorf("%s holds %q, from a caller's path", where, v)
			}
		}
	})

	t.Run("the metrics port serves no logs", func(t *testing.T) {
		run := newRun(t, ns, krtv1.RunSpec{Runtime: "bash", Script: "echo the-secret-line; sleep 30"})
		waitPhase(t, run, krtv1.RunRunning)
		cur := &krtv1.Run{}
		if err := env.Client.Get(ctx, client.ObjectKeyFromObject(run), cur); err != nil {
			t.Fatal(err)
		}
		pod := podsOf(ns, "bash")[0]
		for _, path := range []string{"/runs/" + string(cur.UID) + "/logs", "/runs/" + string(cur.UID) + "/logs?follow=true"} {
			for _, token := range []string{"", pod.LogsToken} {
				req, _ := http.NewRequest(http.MethodGet, pod.MetricsURL+path, nil)
				if token != "" {
					req.Header.Set("Authorization", "Bearer "+token)
				}
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				resp.Body.Close()
				if resp.StatusCode != http.StatusNotFound {
					t.Errorf("GET %s on the metrics port (token %v): %s, want 404", path, token != "", resp.Status)
				}
			}
		}
		s := waitMetrics(t, pod.MetricsURL+"/metrics", metric{"krt_runtimed_active_executions", map[string]string{"runtime": "bash"}, 1})
		for v, where := range s.labelValues() {
			if strings.Contains(v, "the-secret-line") || v == string(cur.UID) || v == cur.Name {
				t.Errorf("%s holds %q", where, v)
			}
		}
		cur.Spec.CancelRequested = true
		if err := env.Client.Update(ctx, cur); err != nil {
			t.Fatal(err)
		}
	})
}
