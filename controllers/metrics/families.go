// Package metrics is krt-controller's Prometheus metrics beyond the
// scheduler's and the reaper's own counters. Gauges are computed from the
// manager's informer cache at scrape time, so they cannot drift from the
// objects; histograms are observed from the cache's update events.
//
// No label ever holds a Run's or a WorkflowRun's name or UID: a busy
// cluster makes thousands a day. Labels are namespaces and the names of
// objects an administrator or a repository defines (Runtimes, Workflows,
// steps, Clusters, WorkflowRepositories), phases and results.
package metrics

import (
	"github.com/prometheus/client_golang/prometheus"
	ctrlmetrics "sigs.k8s.io/controller-runtime/pkg/metrics"
)

// Runs' phase transitions take from milliseconds (a warm pod) to hours.
var runBuckets = prometheus.ExponentialBuckets(0.005, 2.5, 16)

// WorkflowRuns and steps take from a second to a day of waiting for an
// approval. Few buckets: steps multiply the series by workflow and step.
var durationBuckets = prometheus.ExponentialBuckets(0.5, 3, 12)

var (
	runTransition = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "krt_run_phase_seconds",
		Help:    "Time Runs spent before a phase transition, by runtime and transition: pending_to_scheduled, scheduled_to_running or running_to_finished.",
		Buckets: runBuckets,
	}, []string{"namespace", "runtime", "transition"})

	workflowRunDuration = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "krt_workflowrun_duration_seconds",
		Help:    "Time from a WorkflowRun's start to its end, by workflow and final phase.",
		Buckets: durationBuckets,
	}, []string{"namespace", "workflow", "phase"})

	stepDuration = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "krt_step_duration_seconds",
		Help:    "Time from a step's (a WorkflowRun node's) start to its end, by workflow, step and final phase; a forEach or matrix item counts under its step.",
		Buckets: durationBuckets,
	}, []string{"namespace", "workflow", "step", "phase"})

	// SourceFetches counts git fetches of a WorkflowRepository's revision.
	SourceFetches = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "krt_source_fetches_total",
		Help: "Git fetches of WorkflowRepositories' new revisions, by repository and result: success or failure.",
	}, []string{"namespace", "repository", "result"})

	// SourceLsRemotes counts the ls-remotes that find a repository's
	// current revision.
	SourceLsRemotes = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "krt_source_ls_remotes_total",
		Help: "Git ls-remotes resolving WorkflowRepositories' refs, by repository and result: success or failure.",
	}, []string{"namespace", "repository", "result"})

	// WebhookDeliveries counts the webhook receiver's answers. It has no
	// repository label: anyone may call the receiver with any path.
	WebhookDeliveries = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "krt_webhook_deliveries_total",
		Help: "Webhook deliveries by result: accepted, duplicate, signature_invalid, not_found, too_large, bad_request, misconfigured or error.",
	}, []string{"result"})
)

// Results of fetches and ls-remotes.
const (
	ResultSuccess = "success"
	ResultFailure = "failure"
)

// Result names an error's outcome.
func Result(err error) string {
	if err != nil {
		return ResultFailure
	}
	return ResultSuccess
}

func init() {
	ctrlmetrics.Registry.MustRegister(runTransition, workflowRunDuration, stepDuration,
		SourceFetches, SourceLsRemotes, WebhookDeliveries)
}
