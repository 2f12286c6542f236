package runtimed

import (
	"context"
	"errors"
	"net"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// metrics are runtimed's own, on a registry of their own: the log server
// answers only with its token, so they are served on a port apart, the
// one a runtime pod's NetworkPolicy opens to scrapers. The runtime label
// is constant; the Runs themselves never become labels.
type metrics struct {
	registry  *prometheus.Registry
	durations *prometheus.HistogramVec
}

func newMetrics(a *Agent) *metrics {
	reg := prometheus.NewRegistry()
	constLabels := prometheus.Labels{"runtime": a.opts.Runtime}
	m := &metrics{registry: reg, durations: prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:        "krt_runtimed_execution_duration_seconds",
		Help:        "Time from taking a Run's attempt (its start, or its claim) to its end on this pod, by result: the Run's phase, or fenced when the attempt was taken away.",
		ConstLabels: constLabels,
		Buckets:     prometheus.ExponentialBuckets(0.01, 2.5, 15),
	}, []string{"result"})}
	active := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name:        "krt_runtimed_active_executions",
		Help:        "Runs this pod is executing now.",
		ConstLabels: constLabels,
	}, func() float64 {
		a.mu.Lock()
		defer a.mu.Unlock()
		return float64(len(a.active))
	})
	reg.MustRegister(m.durations, active, collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

func (m *metrics) observe(result string, since time.Time) {
	m.durations.WithLabelValues(result).Observe(time.Since(since).Seconds())
}

// serveMetrics serves GET /metrics on addr until ctx ends.
func (a *Agent) serveMetrics(ctx context.Context, addr string) error {
	lis, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(a.metrics.registry, promhttp.HandlerOpts{}))
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		if err := srv.Serve(lis); !errors.Is(err, http.ErrServerClosed) {
			a.opts.Log.Error(err, "metrics server stopped")
		}
	}()
	go func() {
		<-ctx.Done()
		_ = srv.Close()
	}()
	return nil
}
