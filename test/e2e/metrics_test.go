package e2e

import (
	"bytes"
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	krtv1 "krt.dev/krt/api/v1alpha1"
	"krt.dev/krt/sources/gitserver"
	"krt.dev/krt/sources/gitserver/gittest"
	"krt.dev/krt/sources/webhook"
)

// TestMetricsScrape runs a gated workflow, a Run it cancels, a repository
// with a broken file, a forged webhook and an unreachable Cluster, and
// reads each family krt exposes from the real endpoints: krt-controller's
// and the runtime pod's runtimed.
func TestMetricsScrape(t *testing.T) {
	ctx := context.Background()
	ns := setupRuntime(t, "bash", 1, 2)
	rt := func(extra ...string) map[string]string {
		l := map[string]string{"namespace": ns, "runtime": "bash"}
		for i := 0; i+1 < len(extra); i += 2 {
			l[extra[i]] = extra[i+1]
		}
		return l
	}
	wf := func(extra ...string) map[string]string {
		l := map[string]string{"namespace": ns, "workflow": "greet"}
		for i := 0; i+1 < len(extra); i += 2 {
			l[extra[i]] = extra[i+1]
		}
		return l
	}
	pods := podsOf(ns, "bash")
	if len(pods) != 1 {
		t.Fatalf("%d pods, want 1", len(pods))
	}
	runtimedURL := pods[0].MetricsURL + "/metrics"

	// An idle pool: its slots, and zeros rather than no series.
	waitMetrics(t, metricsURL,
		metric{"krt_runtime_slots", rt("state", "capacity"), 2},
		metric{"krt_runtime_slots", rt("state", "in_use"), 0},
		metric{"krt_runtime_ready_pods", rt(), 1},
		metric{"krt_runs", rt("phase", "Running"), 0},
		metric{"krt_run_oldest_pending_seconds", rt(), 0})
	waitMetrics(t, runtimedURL, metric{"krt_runtimed_active_executions", map[string]string{"runtime": "bash"}, 0})

	// A Run in flight holds a slot and an execution.
	sleeper := newRun(t, ns, krtv1.RunSpec{Runtime: "bash", Script: "sleep 60"})
	waitPhase(t, sleeper, krtv1.RunRunning)
	waitMetrics(t, runtimedURL, metric{"krt_runtimed_active_executions", map[string]string{"runtime": "bash"}, 1})
	waitMetrics(t, metricsURL,
		metric{"krt_runs", rt("phase", "Running"), 1},
		metric{"krt_runtime_slots", rt("state", "in_use"), 1})

	// A workflow waiting at its approval gate.
	createWorkflow(t, ns, "greet", wfGated())
	run := strings.TrimSpace(mustKrt(t, "wf", "trigger", "-n", ns, "greet"))
	waitWfRun(t, ns, run, "wait at the gate", gateWaits)
	waitMetrics(t, metricsURL,
		metric{"krt_workflowruns", wf("phase", "Running"), 1},
		metric{"krt_approvals_waiting", wf("gate", "step"), 1},
		metric{"krt_approvals_waiting", wf("gate", "pull_request"), 0},
		metric{"krt_step_duration_seconds", wf("step", "first", "phase", "Succeeded"), 1})

	// Cancel the sleeper, approve the gate: both finish.
	cur := &krtv1.Run{}
	if err := env.Client.Get(ctx, client.ObjectKeyFromObject(sleeper), cur); err != nil {
		t.Fatal(err)
	}
	cur.Spec.CancelRequested = true
	if err := env.Client.Update(ctx, cur); err != nil {
		t.Fatal(err)
	}
	mustKrt(t, "wf", "approve", "-n", ns, run, "gate")
	wr := waitWfRun(t, ns, run, "end", ended)
	if wr.Status.Phase != krtv1.WorkflowSucceeded {
		t.Fatalf("run ended %s: %s", wr.Status.Phase, wr.Status.Message)
	}
	waitPhase(t, sleeper, krtv1.RunCancelled)

	// Three Runs: the sleeper and the workflow's two bash steps.
	ctrl := waitMetrics(t, metricsURL,
		metric{"krt_runs", rt("phase", "Succeeded"), 2},
		metric{"krt_runs", rt("phase", "Cancelled"), 1},
		metric{"krt_runs", rt("phase", "Running"), 0},
		metric{"krt_runtime_slots", rt("state", "in_use"), 0},
		metric{"krt_runtime_slots", rt("state", "pending"), 0},
		metric{"krt_run_phase_seconds", rt("transition", "pending_to_scheduled"), 3},
		metric{"krt_run_phase_seconds", rt("transition", "scheduled_to_running"), 3},
		metric{"krt_run_phase_seconds", rt("transition", "running_to_finished"), 3},
		metric{"krt_workflowruns", wf("phase", "Succeeded"), 1},
		metric{"krt_workflowruns", wf("phase", "Running"), 0},
		metric{"krt_approvals_waiting", wf("gate", "step"), 0},
		metric{"krt_workflowrun_duration_seconds", wf("phase", "Succeeded"), 1},
		metric{"krt_step_duration_seconds", wf("phase", "Succeeded"), 3},
		metric{"krt_step_duration_seconds", wf("step", "gate", "phase", "Succeeded"), 1})
	rtd := waitMetrics(t, runtimedURL,
		metric{"krt_runtimed_active_executions", map[string]string{"runtime": "bash"}, 0},
		metric{"krt_runtimed_execution_duration_seconds", map[string]string{"runtime": "bash", "result": "Succeeded"}, 2},
		metric{"krt_runtimed_execution_duration_seconds", map[string]string{"runtime": "bash", "result": "Cancelled"}, 1})

	src := sourceMetrics(t)
	all := scrape{}
	for _, s := range []scrape{ctrl, rtd, src} {
		for k, v := range s {
			all[k] = v
		}
	}
	t.Run("the dashboard and alerts query only served families", func(t *testing.T) { checkQueries(t, all) })

	// No Run or WorkflowRun name or UID is a label value anywhere.
	runs := &krtv1.RunList{}
	if err := env.Client.List(ctx, runs, client.InNamespace(ns)); err != nil {
		t.Fatal(err)
	}
	names := []string{run, string(wr.UID)}
	for _, r := range runs.Items {
		names = append(names, r.Name, string(r.UID))
	}
	for _, s := range []scrape{ctrl, rtd, src} {
		values := s.labelValues()
		for _, n := range names {
			if where, ok := values[n]; ok {
				t.Errorf("%s holds %q, a run's name or UID", where, n)
			}
		}
	}
}

// sourceMetrics serves a repository with one broken file, posts a forged
// webhook to it, and adds a Cluster that cannot be reached; it returns the
// scrape that shows all three.
func sourceMetrics(t *testing.T) scrape {
	t.Helper()
	ctx := context.Background()
	ns := env.Namespace(t)
	srv := gittest.Serve(t, gitserver.Options{}, "flows")
	clone := gittest.NewClone(t, srv.URL)
	clone.Write(map[string]string{
		"workflows/ok.yaml":     "apiVersion: krt.dev/v1alpha1\nkind: Workflow\nmetadata:\n  name: ok\nspec:\n  on:\n    manual: {}\n  steps:\n    - name: hello\n      runtime: bash\n      run: echo hi\n",
		"workflows/broken.yaml": "apiVersion: krt.dev/v1alpha1\nkind: Workflow\nmetadata:\n  name: broken\nspec:\n  steps: [\n",
	})
	clone.Commit("one good, one broken")
	clone.Push("HEAD:refs/heads/main")
	secret := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "hook", Namespace: ns}, StringData: map[string]string{"token": "the-token"}}
	repo := &krtv1.WorkflowRepository{
		ObjectMeta: metav1.ObjectMeta{Name: "flows", Namespace: ns},
		Spec: krtv1.WorkflowRepositorySpec{URL: srv.URL, Ref: &krtv1.GitRef{Branch: "main"},
			Interval: metav1.Duration{Duration: time.Hour},
			Webhook:  &krtv1.WebhookSpec{SecretRef: krtv1.LocalObjectReference{Name: "hook"}}},
	}
	cl := &krtv1.Cluster{ObjectMeta: metav1.ObjectMeta{Name: "far", Namespace: ns},
		Spec: krtv1.ClusterSpec{KubeconfigSecretRef: krtv1.SecretKeySelector{Name: "no-such-secret", Key: "kubeconfig"}}}
	for _, o := range []client.Object{secret, repo, cl} {
		if err := env.Client.Create(ctx, o); err != nil {
			t.Fatal(err)
		}
	}
	repoLabels := map[string]string{"namespace": ns, "repository": "flows"}
	waitMetrics(t, metricsURL,
		metric{"krt_repository_parse_errors", repoLabels, 1},
		metric{"krt_source_ls_remotes_total", merge(repoLabels, "result", "success"), 1},
		metric{"krt_source_fetches_total", merge(repoLabels, "result", "success"), 1},
		metric{"krt_cluster_ready", map[string]string{"namespace": ns, "cluster": "far"}, 0})

	cur := &krtv1.WorkflowRepository{}
	eventually(t, time.Minute, "status.webhookPath", func() bool {
		return env.Client.Get(ctx, client.ObjectKeyFromObject(repo), cur) == nil && cur.Status.WebhookPath != ""
	})
	before, _ := mustScrape(t, metricsURL).value("krt_webhook_deliveries_total", map[string]string{"result": "signature_invalid"})
	body := `{"ref":"refs/heads/main","after":"0000000000000000000000000000000000000000"}`
	req, _ := http.NewRequest(http.MethodPost, hookURL+cur.Status.WebhookPath, bytes.NewBufferString(body))
	req.Header.Set("X-GitHub-Event", "push")
	req.Header.Set("X-Hub-Signature-256", webhook.SignatureHeader([]byte(body), []byte("not the token")))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("a forged webhook got %s, want 401", resp.Status)
	}
	return waitMetrics(t, metricsURL,
		metric{"krt_webhook_deliveries_total", map[string]string{"result": "signature_invalid"}, before + 1})
}

func mustScrape(t *testing.T, url string) scrape {
	t.Helper()
	s, err := scrapeOnce(url)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func merge(l map[string]string, kv ...string) map[string]string {
	out := map[string]string{}
	for k, v := range l {
		out[k] = v
	}
	for i := 0; i+1 < len(kv); i += 2 {
		out[kv[i]] = kv[i+1]
	}
	return out
}
