package scheduler

import (
	"github.com/prometheus/client_golang/prometheus"
	ctrlmetrics "sigs.k8s.io/controller-runtime/pkg/metrics"
)

var (
	// attempts counts scheduling decisions by outcome.
	attempts = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "krt_scheduler_attempts_total",
		Help: "Scheduling attempts for Pending Runs, by result: scheduled, no_capacity, unschedulable, cancelled or conflict.",
	}, []string{"result"})
	// wakeups counts the events that woke Pending Runs, by cause.
	wakeups = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "krt_scheduler_wakeups_total",
		Help: "Times Pending Runs were woken because capacity may have freed, by cause: run_finished, reservation_dropped, pod_ready, lease_fresh or runtime_created.",
	}, []string{"cause"})
)

func init() {
	ctrlmetrics.Registry.MustRegister(attempts, wakeups)
}
