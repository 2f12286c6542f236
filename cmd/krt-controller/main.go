// krt-controller is krt's one manager. Flags switch each controller on or
// off, so the control plane and the runtime plane can run apart.
package main

import (
	"context"
	goflag "flag"
	"fmt"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/fluxcd/pkg/runtime/client"
	"github.com/fluxcd/pkg/runtime/leaderelection"
	"github.com/fluxcd/pkg/runtime/logger"
	flag "github.com/spf13/pflag"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/healthz"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	"krt.dev/krt/api/scheme"
	"krt.dev/krt/controllers/index"
	"krt.dev/krt/controllers/reaper"
	runtimectl "krt.dev/krt/controllers/runtime"
	"krt.dev/krt/controllers/scheduler"
	"krt.dev/krt/controllers/ttl"
)

// defaultRuntimedImage is the image runtime pods get unless
// --runtimed-image says otherwise.
const defaultRuntimedImage = "ghcr.io/krt-dev/krt-runtimed:v0.1.0"

// allControllers are the controllers --controllers can name.
var allControllers = []string{"scheduler", "reaper", "ttl", "runtime"}

func main() {
	var (
		clientOpts       client.Options
		leaderOpts       leaderelection.Options
		logOpts          logger.Options
		controllers      []string
		metricsAddr      string
		healthAddr       string
		pprofAddr        string
		schedulerWorkers int
		reaperOpts       reaper.Options
		runtimeOpts      runtimectl.Options
	)
	flag.StringSliceVar(&controllers, "controllers", []string{"*"},
		fmt.Sprintf("controllers to run: * for all, or a list of %v", allControllers))
	flag.StringVar(&metricsAddr, "metrics-bind-address", ":8080", "where Prometheus metrics are served; 0 to disable")
	flag.StringVar(&healthAddr, "health-probe-bind-address", ":8081", "where /healthz and /readyz are served")
	flag.StringVar(&pprofAddr, "pprof-bind-address", "", "where Go's pprof profiles are served; off when empty")
	flag.IntVar(&schedulerWorkers, "scheduler-workers", 4, "Runs scheduled in parallel")
	flag.StringVar(&runtimeOpts.Pod.RuntimedImage, "runtimed-image", defaultRuntimedImage, "image with the runtimed and krt-runtime binaries, for runtime pods")
	flag.DurationVar(&reaperOpts.ClaimTimeout, "claim-timeout", time.Minute, "how long a healthy runtime pod may leave an assigned Run unclaimed before it is given to another")
	clientOpts.BindFlags(flag.CommandLine)
	leaderOpts.BindFlags(flag.CommandLine)
	logOpts.BindFlags(flag.CommandLine)
	// --kubeconfig, from controller-runtime's own flag set.
	flag.CommandLine.AddGoFlagSet(goflag.CommandLine)
	flag.Parse()

	log := logger.NewLogger(logOpts)
	ctrl.SetLogger(log)
	addrs := addresses{metrics: metricsAddr, health: healthAddr, pprof: pprofAddr}
	if err := run(controllers, clientOpts, leaderOpts, addrs, settings{schedulerWorkers, reaperOpts, runtimeOpts}); err != nil {
		log.Error(err, "krt-controller failed")
		os.Exit(1)
	}
}

// addresses are where the manager serves its own endpoints.
type addresses struct{ metrics, health, pprof string }

// settings are the controllers' own options.
type settings struct {
	schedulerWorkers int
	reaper           reaper.Options
	runtime          runtimectl.Options
}

func run(controllers []string, clientOpts client.Options, leaderOpts leaderelection.Options,
	addrs addresses, set settings) error {
	enabled, err := enabledControllers(controllers)
	if err != nil {
		return err
	}
	cfg := client.GetConfigOrDie(clientOpts)
	cfg.UserAgent = "krt-controller"
	mgr, err := ctrl.NewManager(cfg, ctrl.Options{
		Scheme: scheme.New(),
		// Nothing reads managed fields; dropping them halves what the
		// cache holds and copies.
		Cache:                         cache.Options{DefaultTransform: cache.TransformStripManagedFields()},
		Metrics:                       metricsserver.Options{BindAddress: addrs.metrics},
		HealthProbeBindAddress:        addrs.health,
		PprofBindAddress:              addrs.pprof,
		LeaderElection:                leaderOpts.Enable,
		LeaderElectionID:              "krt-controller.krt.dev",
		LeaderElectionReleaseOnCancel: leaderOpts.ReleaseOnCancel,
		LeaseDuration:                 &leaderOpts.LeaseDuration,
		RenewDeadline:                 &leaderOpts.RenewDeadline,
		RetryPeriod:                   &leaderOpts.RetryPeriod,
	})
	if err != nil {
		return err
	}
	if err := mgr.AddHealthzCheck("ping", healthz.Ping); err != nil {
		return err
	}
	if err := mgr.AddReadyzCheck("ping", healthz.Ping); err != nil {
		return err
	}
	ctx := ctrl.SetupSignalHandler()
	if err := setup(ctx, mgr, enabled, set); err != nil {
		return err
	}
	return mgr.Start(ctx)
}

// setup registers each enabled controller with the manager.
func setup(ctx context.Context, mgr ctrl.Manager, enabled map[string]bool, set settings) error {
	if err := index.Register(ctx, mgr.GetFieldIndexer()); err != nil {
		return err
	}
	steps := []struct {
		name  string
		setup func() error
	}{
		{"scheduler", func() error {
			return scheduler.SetupWithManager(ctx, mgr, scheduler.Options{Workers: set.schedulerWorkers})
		}},
		{"reaper", func() error { return reaper.SetupWithManager(mgr, set.reaper) }},
		{"ttl", func() error { return ttl.SetupWithManager(mgr) }},
		{"runtime", func() error { return runtimectl.SetupWithManager(mgr, set.runtime) }},
	}
	for _, s := range steps {
		if !enabled[s.name] {
			continue
		}
		if err := s.setup(); err != nil {
			return fmt.Errorf("%s: %w", s.name, err)
		}
	}
	return nil
}

func enabledControllers(names []string) (map[string]bool, error) {
	out := map[string]bool{}
	for _, n := range names {
		n = strings.TrimSpace(n)
		switch {
		case n == "*":
			for _, c := range allControllers {
				out[c] = true
			}
		case strings.HasPrefix(n, "-") && slices.Contains(allControllers, n[1:]):
			delete(out, n[1:])
		case slices.Contains(allControllers, n):
			out[n] = true
		default:
			return nil, fmt.Errorf("--controllers: unknown controller %q; known: %v", n, allControllers)
		}
	}
	return out, nil
}
