package metrics

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// What the collector reports, by the kinds the enabled controllers already
// watch: listing any other kind would start an informer krt-controller
// may have no right to.
type Kinds struct {
	// Runs and Runtimes: the runtime plane (scheduler or runtime).
	Runs bool
	// WorkflowRuns: the workflow controller.
	WorkflowRuns bool
	// Clusters: the cluster controller.
	Clusters bool
	// WorkflowRepositories: the source controller.
	Repositories bool
}

var (
	runsDesc = prometheus.NewDesc("krt_runs",
		"Runs by runtime and phase; Runs naming a Runtime that does not exist count under runtime=\"(unknown)\".",
		[]string{"namespace", "runtime", "phase"}, nil)
	oldestPendingDesc = prometheus.NewDesc("krt_run_oldest_pending_seconds",
		"Age of the oldest Pending Run of a runtime (since it was created or its retry became due); 0 with none.",
		[]string{"namespace", "runtime"}, nil)
	slotsDesc = prometheus.NewDesc("krt_runtime_slots",
		"Run slots of a Runtime, by state: capacity (across ready pods), in_use, and pending (Runs waiting for one).",
		[]string{"namespace", "runtime", "state"}, nil)
	readyPodsDesc = prometheus.NewDesc("krt_runtime_ready_pods",
		"A Runtime's pods that are Ready and hold a fresh heartbeat.",
		[]string{"namespace", "runtime"}, nil)
	workflowRunsDesc = prometheus.NewDesc("krt_workflowruns",
		"WorkflowRuns by workflow and phase.",
		[]string{"namespace", "workflow", "phase"}, nil)
	approvalsDesc = prometheus.NewDesc("krt_approvals_waiting",
		"Approvals waiting, by workflow and gate: step (a step's approval) or pull_request (a run held in AwaitingApproval).",
		[]string{"namespace", "workflow", "gate"}, nil)
	clusterReadyDesc = prometheus.NewDesc("krt_cluster_ready",
		"1 when a Cluster's API server answers (its Ready condition), else 0.",
		[]string{"namespace", "cluster"}, nil)
	parseErrorsDesc = prometheus.NewDesc("krt_repository_parse_errors",
		"Parse and validation errors of a WorkflowRepository's current revision, as status.parseErrors lists them.",
		[]string{"namespace", "repository"}, nil)
)

// collector computes the gauges from the cache at each scrape.
type collector struct {
	cache client.Reader
	kinds Kinds
	// elected is closed once this replica leads: only the leader reports,
	// so that standbys' copies do not double every sum.
	elected <-chan struct{}
	now     func() time.Time
}

func (c *collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{runsDesc, oldestPendingDesc, slotsDesc, readyPodsDesc,
		workflowRunsDesc, approvalsDesc, clusterReadyDesc, parseErrorsDesc} {
		ch <- d
	}
}

func (c *collector) Collect(ch chan<- prometheus.Metric) {
	select {
	case <-c.elected:
	default:
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	steps := []struct {
		on      bool
		collect func(context.Context, chan<- prometheus.Metric) error
	}{
		{c.kinds.Runs, c.collectRuns},
		{c.kinds.WorkflowRuns, c.collectWorkflowRuns},
		{c.kinds.Clusters, c.collectClusters},
		{c.kinds.Repositories, c.collectRepositories},
	}
	for _, s := range steps {
		if !s.on {
			continue
		}
		if err := s.collect(ctx, ch); err != nil {
			ch <- prometheus.NewInvalidMetric(runsDesc, err)
		}
	}
}

func gauge(ch chan<- prometheus.Metric, d *prometheus.Desc, v float64, labels ...string) {
	ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
}
