// krt-controller is krt's one manager. Flags switch each controller on or
// off, so the control plane and the runtime plane can run apart.
package main

import (
	"context"
	goflag "flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/fluxcd/pkg/runtime/client"
	"github.com/fluxcd/pkg/runtime/leaderelection"
	"github.com/fluxcd/pkg/runtime/logger"
	sourcev1 "github.com/fluxcd/source-controller/api/v1"
	flag "github.com/spf13/pflag"
	"k8s.io/apimachinery/pkg/api/meta"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/healthz"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	"krt.dev/krt/api/scheme"
	"krt.dev/krt/controllers/cluster"
	"krt.dev/krt/controllers/index"
	"krt.dev/krt/controllers/maintainer"
	krtmetrics "krt.dev/krt/controllers/metrics"
	"krt.dev/krt/controllers/reaper"
	runtimectl "krt.dev/krt/controllers/runtime"
	"krt.dev/krt/controllers/scheduler"
	"krt.dev/krt/controllers/source"
	"krt.dev/krt/controllers/tracing"
	"krt.dev/krt/controllers/trigger"
	"krt.dev/krt/controllers/ttl"
	"krt.dev/krt/controllers/workflow"
	"krt.dev/krt/sources/git"
)

// defaultRuntimedImage is the image runtime pods get unless
// --runtimed-image says otherwise.
const defaultRuntimedImage = "ghcr.io/krt-dev/krt-runtimed:v0.1.0"

// allControllers are the controllers --controllers can name.
var allControllers = []string{"scheduler", "reaper", "ttl", "runtime", "maintainer", "source", "cluster", "workflow", "trigger"}

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
		workflowWorkers  int
		reaperOpts       reaper.Options
		runtimeOpts      runtimectl.Options
		maintainerOpts   maintainer.Options
		sourceOpts       source.Options
		kubeconfigOpts   cluster.KubeconfigOptions
		flux             string
		watchNamespaces  []string
		runURL           string
	)
	flag.StringSliceVar(&controllers, "controllers", []string{"*"},
		fmt.Sprintf("controllers to run: * for all, or a list of %v", allControllers))
	flag.StringVar(&metricsAddr, "metrics-bind-address", ":8080", "where Prometheus metrics are served; 0 to disable")
	flag.StringVar(&healthAddr, "health-probe-bind-address", ":8081", "where /healthz and /readyz are served")
	flag.StringVar(&pprofAddr, "pprof-bind-address", "", "where Go's pprof profiles are served; off when empty")
	flag.IntVar(&schedulerWorkers, "scheduler-workers", 4, "Runs scheduled in parallel")
	flag.IntVar(&workflowWorkers, "workflow-workers", 4, "WorkflowRuns reconciled in parallel")
	flag.StringSliceVar(&watchNamespaces, "watch-namespaces", nil,
		"namespaces to watch, comma-separated; all when empty. Roles in these namespaces are then all the RBAC krt-controller needs, besides reading the API server's EndpointSlices in default")
	flag.StringVar(&runtimeOpts.RuntimedClusterRole, "runtimed-cluster-role", runtimectl.DefaultRuntimedClusterRole,
		"the ClusterRole each Runtime's pods are bound to in its namespace; krt-controller's bind right must name it")
	flag.StringVar(&runtimeOpts.Pod.RuntimedImage, "runtimed-image", defaultRuntimedImage, "image with the runtimed and krt-runtime binaries, for runtime pods")
	flag.DurationVar(&runtimeOpts.Scale.ScaleDownStabilization, "scale-down-stabilization", runtimectl.DefaultScaleDownStabilization,
		"how long an autoscaled Runtime keeps the largest pool asked for before it shrinks")
	flag.DurationVar(&runtimeOpts.Scale.DrainSettle, "drain-settle", runtimectl.DefaultDrainSettle,
		"how long a draining runtime pod waits, for a Run just given to it to show, before it may be removed")
	flag.DurationVar(&maintainerOpts.Interval, "artifact-sweep-interval", maintainer.DefaultInterval,
		"how often the maintainer sweeps each ArtifactStore of expired artifacts, caches and logs and of those of deleted WorkflowRuns")
	flag.DurationVar(&maintainerOpts.BlobGrace, "artifact-blob-grace", maintainer.DefaultBlobGrace,
		"how long the maintainer keeps a blob no ref names yet, and so the longest an upload to an ArtifactStore may take")
	flag.DurationVar(&reaperOpts.ClaimTimeout, "claim-timeout", time.Minute, "how long a healthy runtime pod may leave an assigned Run unclaimed before it is given to another")
	flag.StringVar(&sourceOpts.CacheDir, "git-cache-dir", filepath.Join(os.TempDir(), "krt-git"), "where fetched repositories are cached, one per URL")
	flag.StringVar(&sourceOpts.WebhookAddress, "webhook-bind-address", ":9292", "where the git webhook receiver listens; empty to disable")
	flag.IntVar(&sourceOpts.Workers, "source-workers", 4, "WorkflowRepositories reconciled in parallel (fetches of one URL still take turns)")
	flag.StringVar(&runURL, "run-url", "", "template of the link a commit status carries to its run, e.g. "+
		"https://krt.example.com/runs/{{.Namespace}}/{{.Name}} (also .Workflow, .UID); statuses carry no output, only the phase and this link")
	flag.StringVar(&flux, "flux", "auto", "read Flux sources named by sourceRef: auto (when Flux's CRDs are installed), true or false")
	sourceOpts.BindFlags(flag.CommandLine)
	kubeconfigOpts.BindFlags(flag.CommandLine)
	clientOpts.BindFlags(flag.CommandLine)
	leaderOpts.BindFlags(flag.CommandLine)
	logOpts.BindFlags(flag.CommandLine)
	// --kubeconfig, from controller-runtime's own flag set.
	flag.CommandLine.AddGoFlagSet(goflag.CommandLine)
	flag.Parse()

	log := logger.NewLogger(logOpts)
	ctrl.SetLogger(log)
	addrs := addresses{metrics: metricsAddr, health: healthAddr, pprof: pprofAddr}
	set := settings{schedulerWorkers, workflowWorkers, reaperOpts, runtimeOpts, maintainerOpts, sourceOpts, kubeconfigOpts, flux, watchNamespaces, runURL, nil}
	if err := run(controllers, clientOpts, leaderOpts, addrs, set); err != nil {
		log.Error(err, "krt-controller failed")
		os.Exit(1)
	}
}

// addresses are where the manager serves its own endpoints.
type addresses struct{ metrics, health, pprof string }

// settings are the controllers' own options.
type settings struct {
	schedulerWorkers int
	workflowWorkers  int
	reaper           reaper.Options
	runtime          runtimectl.Options
	maintainer       maintainer.Options
	source           source.Options
	kubeconfig       cluster.KubeconfigOptions
	flux             string
	namespaces       []string
	runURL           string
	// tracer is set once the manager runs, from the OTEL_* environment.
	tracer *tracing.Tracer
}

func run(controllers []string, clientOpts client.Options, leaderOpts leaderelection.Options,
	addrs addresses, set settings) error {
	enabled, err := enabledControllers(controllers)
	if err != nil {
		return err
	}
	namespaces, err := parseNamespaces(set.namespaces)
	if err != nil {
		return err
	}
	cacheOpts, err := cacheOptions(namespaces)
	if err != nil {
		return err
	}
	cfg := client.GetConfigOrDie(clientOpts)
	cfg.UserAgent = "krt-controller"
	mgr, err := ctrl.NewManager(cfg, ctrl.Options{
		Scheme:                        scheme.New(),
		Cache:                         cacheOpts,
		Client:                        clientOptions(),
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
	// Tracing is off, and free, unless the OTEL_* environment asks for it.
	tracer, flush, err := tracing.Setup(ctx, "krt-controller")
	if err != nil {
		return err
	}
	defer func() {
		// The spans of the last passes are sent before the process ends.
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = flush(ctx)
	}()
	set.tracer = tracer
	if err := setup(ctx, mgr, enabled, set); err != nil {
		return err
	}
	return mgr.Start(ctx)
}

// setup registers each enabled controller with the manager.
func setup(ctx context.Context, mgr ctrl.Manager, enabled map[string]bool, set settings) error {
	// The Run indexes are the runtime plane's; registering them starts a
	// Run informer, which a control plane of source alone has no right to.
	if enabled["scheduler"] || enabled["reaper"] || enabled["runtime"] {
		if err := index.Register(ctx, mgr.GetFieldIndexer()); err != nil {
			return err
		}
	}
	registry := cluster.NewRegistry(mgr.GetLogger().WithName("clusters"))
	if err := mgr.Add(registry); err != nil {
		return err
	}
	// One git cache for the process: the source controller fetches the
	// followed branches into it and the trigger controller pull request
	// heads, and only one Cache's locks keep their fetches of a URL apart.
	if enabled["source"] || enabled["trigger"] {
		cache, err := git.NewCache(set.source.CacheDir)
		if err != nil {
			return err
		}
		cache.Limits.Fetch = set.source.FetchMaxBytes
		set.source.Cache = cache
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
		{"maintainer", func() error {
			// Without the workflow controller this is a workload cluster,
			// whose WorkflowRuns live on the hub: seeing none here must not
			// delete their artifacts, so retention alone applies.
			opts := set.maintainer
			opts.RetentionOnly = !enabled["workflow"]
			return maintainer.SetupWithManager(mgr, opts)
		}},
		{"source", func() error {
			opts := set.source
			var err error
			if opts.Flux, err = fluxEnabled(mgr, set.flux); err != nil {
				return err
			}
			return source.SetupWithManager(ctx, mgr, opts)
		}},
		{"cluster", func() error { return cluster.SetupWithManager(mgr, registry, set.kubeconfig) }},
		{"workflow", func() error {
			return workflow.SetupWithManager(ctx, mgr, registry, workflow.Options{Workers: set.workflowWorkers, Tracer: set.tracer})
		}},
		{"trigger", func() error {
			return trigger.SetupWithManager(ctx, mgr, trigger.Options{Workers: set.workflowWorkers, GitCache: set.source.Cache,
				RunURL: set.runURL})
		}},
	}
	for _, s := range steps {
		if !enabled[s.name] {
			continue
		}
		if err := s.setup(); err != nil {
			return fmt.Errorf("%s: %w", s.name, err)
		}
	}
	// Metrics only from the kinds the enabled controllers watch already.
	return krtmetrics.SetupWithManager(mgr, krtmetrics.Kinds{
		Runs:         enabled["scheduler"] || enabled["runtime"],
		WorkflowRuns: enabled["workflow"],
		Clusters:     enabled["cluster"],
		Repositories: enabled["source"],
	})
}

// fluxEnabled decides whether to watch Flux sources. On auto it asks the
// API server, since watching a kind that is not served fails the manager.
func fluxEnabled(mgr ctrl.Manager, mode string) (bool, error) {
	switch mode {
	case "true":
		return true, nil
	case "false":
		return false, nil
	case "auto":
		_, err := mgr.GetRESTMapper().RESTMapping(sourcev1.GroupVersion.WithKind(sourcev1.GitRepositoryKind).GroupKind(), sourcev1.GroupVersion.Version)
		if meta.IsNoMatchError(err) {
			return false, nil
		}
		return err == nil, err
	}
	return false, fmt.Errorf("--flux: want auto, true or false, not %q", mode)
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
