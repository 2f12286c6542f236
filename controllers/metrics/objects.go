package metrics

import (
	"context"

	"github.com/prometheus/client_golang/prometheus"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	"sigs.k8s.io/controller-runtime/pkg/client"

	krtv1 "krt.dev/krt/api/v1alpha1"
)

var runPhases = []krtv1.RunPhase{krtv1.RunPending, krtv1.RunScheduled, krtv1.RunRunning,
	krtv1.RunSucceeded, krtv1.RunFailed, krtv1.RunTimeout, krtv1.RunCancelled}

const unknownRuntime = "(unknown)"

type runtimeKey struct{ namespace, runtime string }

// collectRuns reports Runs by phase and each Runtime's pool. A Runtime
// with no Runs still reports zeros, so an alert on it has a series.
func (c *collector) collectRuns(ctx context.Context, ch chan<- prometheus.Metric) error {
	runtimes := &krtv1.RuntimeList{}
	if err := c.cache.List(ctx, runtimes, client.UnsafeDisableDeepCopy); err != nil {
		return err
	}
	counts := map[runtimeKey]map[krtv1.RunPhase]int{}
	oldest := map[runtimeKey]float64{}
	for i := range runtimes.Items {
		rt := &runtimes.Items[i]
		k := runtimeKey{rt.Namespace, rt.Name}
		counts[k], oldest[k] = map[krtv1.RunPhase]int{}, 0
		s := rt.Status
		gauge(ch, slotsDesc, float64(s.Capacity), k.namespace, k.runtime, "capacity")
		gauge(ch, slotsDesc, float64(s.InUse), k.namespace, k.runtime, "in_use")
		gauge(ch, slotsDesc, float64(s.Pending), k.namespace, k.runtime, "pending")
		gauge(ch, readyPodsDesc, float64(s.ReadyPods), k.namespace, k.runtime)
	}
	runs := &krtv1.RunList{}
	if err := c.cache.List(ctx, runs, client.UnsafeDisableDeepCopy); err != nil {
		return err
	}
	now := c.now()
	for i := range runs.Items {
		r := &runs.Items[i]
		k := runtimeKey{r.Namespace, r.Spec.Runtime}
		if counts[k] == nil {
			// A Run may name any runtime; only real ones become labels.
			k.runtime = unknownRuntime
			if counts[k] == nil {
				counts[k] = map[krtv1.RunPhase]int{}
			}
		}
		phase := r.Status.Phase
		if phase == "" {
			phase = krtv1.RunPending
		}
		counts[k][phase]++
		if phase == krtv1.RunPending {
			since := r.CreationTimestamp.Time
			if r.Status.NotBefore != nil && r.Status.NotBefore.After(since) {
				since = r.Status.NotBefore.Time
			}
			oldest[k] = max(oldest[k], now.Sub(since).Seconds())
		}
	}
	for k, byPhase := range counts {
		for _, p := range runPhases {
			gauge(ch, runsDesc, float64(byPhase[p]), k.namespace, k.runtime, string(p))
		}
		gauge(ch, oldestPendingDesc, oldest[k], k.namespace, k.runtime)
	}
	return nil
}

func (c *collector) collectClusters(ctx context.Context, ch chan<- prometheus.Metric) error {
	clusters := &krtv1.ClusterList{}
	if err := c.cache.List(ctx, clusters, client.UnsafeDisableDeepCopy); err != nil {
		return err
	}
	for i := range clusters.Items {
		cl := &clusters.Items[i]
		v := 0.0
		if apimeta.IsStatusConditionTrue(cl.Status.Conditions, krtv1.ConditionReady) {
			v = 1
		}
		gauge(ch, clusterReadyDesc, v, cl.Namespace, cl.Name)
	}
	return nil
}

func (c *collector) collectRepositories(ctx context.Context, ch chan<- prometheus.Metric) error {
	repos := &krtv1.WorkflowRepositoryList{}
	if err := c.cache.List(ctx, repos, client.UnsafeDisableDeepCopy); err != nil {
		return err
	}
	for i := range repos.Items {
		r := &repos.Items[i]
		gauge(ch, parseErrorsDesc, float64(len(r.Status.ParseErrors)), r.Namespace, r.Name)
	}
	return nil
}
