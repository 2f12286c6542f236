// runtimed is the sidecar of every runtime pod: it claims the Runs assigned
// to its pod and executes them through the local Runtime Server.
package main

import (
	"flag"
	"fmt"
	"net/http"
	_ "net/http/pprof" // served only with --pprof-bind-address
	"os"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/types"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"

	krtv1 "krt.dev/krt/api/v1alpha1"
	"krt.dev/krt/runtimed"
)

func main() {
	var (
		opts      runtimed.Options
		languages string
		qps       float64
		burst     int
	)
	flag.StringVar(&opts.Pod.Name, "pod-name", os.Getenv("POD_NAME"), "this pod's name (downward API)")
	flag.StringVar(&opts.Pod.Namespace, "pod-namespace", os.Getenv("POD_NAMESPACE"), "this pod's namespace (downward API)")
	podUID := flag.String("pod-uid", os.Getenv("POD_UID"), "this pod's UID (downward API)")
	flag.StringVar(&opts.Runtime, "runtime", os.Getenv("KRT_RUNTIME"), "the Runtime this pod belongs to")
	flag.StringVar(&languages, "languages", "bash,python", "languages the runtime container runs; the first is the default")
	secrets := flag.String("allowed-secrets", "", "comma-separated Secrets that Runs may read through secretEnv (the Runtime's spec.secrets)")
	flag.StringVar(&opts.RuntimeAddress, "runtime-address", "unix:///krt/run/runtime.sock", "gRPC target of the Runtime Server")
	flag.StringVar(&opts.LogsAddress, "logs-address", ":8081", "where the live log server listens")
	flag.StringVar(&opts.MetricsAddress, "metrics-address", "", "where Prometheus metrics are served, with no token (a port apart from the log server's); off when empty")
	tokenFile := flag.String("logs-token-file", "", "a file holding the bearer token that reading a Run's log from the log server takes; without it, the server answers only /healthz")
	flag.StringVar(&opts.ArtifactStore, "artifact-store", "", "the Runtime's spec.artifactStore: the ArtifactStore, in the Run's namespace, that moves artifacts, caches and archived logs; none when empty")
	flag.StringVar(&opts.RuntimeImage, "runtime-image", "", "the runtime container's image: part of a memoized step's key, so another image runs the step again")
	flag.StringVar(&opts.Isolation, "isolation", string(krtv1.IsolationShared), "the Runtime's spec.isolation: with ephemeral, the pod takes one Run and marks its Lease spent")
	runtimeToken := flag.String("runtime-token-file", "", "a file holding the token the Runtime Server asks for, where it cannot tell runtimed by its uid (the local pool)")
	flag.DurationVar(&opts.LeaseDuration, "lease-duration", 15*time.Second, "how long one heartbeat stays fresh")
	flag.DurationVar(&opts.KillGrace, "kill-grace", 10*time.Second, "time between SIGTERM and SIGKILL for a cancelled Run")
	flag.IntVar(&opts.Workers, "workers", 4, "Runs claimed in parallel")
	flag.DurationVar(&opts.ClaimAfter, "claim-after", time.Second, "how long a Run of a shared pool runs before it is claimed (written Running); one that ends sooner costs one write less. 0 claims before starting. Keep it well below krt-controller's --claim-timeout")
	flag.Float64Var(&qps, "kube-api-qps", 200, "API requests per second to allow; negative for no limit")
	flag.IntVar(&burst, "kube-api-burst", 400, "API request burst")
	pprofAddr := flag.String("pprof-bind-address", "", "where Go's pprof profiles are served; off when empty")
	zapOpts := zap.Options{}
	zapOpts.BindFlags(flag.CommandLine)
	flag.Parse()

	log := zap.New(zap.UseFlagOptions(&zapOpts), zap.WriteTo(os.Stderr))
	ctrl.SetLogger(log)
	opts.PodUID = types.UID(*podUID)
	opts.Log = log
	opts.Stdout = os.Stdout
	if *pprofAddr != "" {
		go func() { log.Error(http.ListenAndServe(*pprofAddr, nil), "pprof server") }()
	}
	if *tokenFile != "" {
		token, err := os.ReadFile(*tokenFile)
		if err != nil || len(strings.TrimSpace(string(token))) == 0 {
			fmt.Fprintln(os.Stderr, "runtimed: --logs-token-file: the file must hold a token:", err)
			os.Exit(1)
		}
		opts.LogsToken = strings.TrimSpace(string(token))
	}
	if *runtimeToken != "" {
		token, err := os.ReadFile(*runtimeToken)
		if err != nil || len(strings.TrimSpace(string(token))) == 0 {
			fmt.Fprintln(os.Stderr, "runtimed: --runtime-token-file: the file must hold a token:", err)
			os.Exit(1)
		}
		opts.RuntimeToken = strings.TrimSpace(string(token))
	}
	if *secrets != "" {
		opts.AllowedSecrets = strings.Split(*secrets, ",")
	}
	for _, l := range strings.Split(languages, ",") {
		opts.Languages = append(opts.Languages, krtv1.Language(strings.TrimSpace(l)))
	}
	if err := run(opts, qps, burst); err != nil {
		fmt.Fprintln(os.Stderr, "runtimed:", err)
		os.Exit(1)
	}
}

func run(opts runtimed.Options, qps float64, burst int) error {
	if opts.Pod.Name == "" || opts.Pod.Namespace == "" || opts.PodUID == "" || opts.Runtime == "" {
		return fmt.Errorf("--pod-name, --pod-namespace, --pod-uid and --runtime are required")
	}
	cfg, err := ctrl.GetConfig()
	if err != nil {
		return err
	}
	cfg.QPS, cfg.Burst = float32(qps), burst
	cfg.UserAgent = "runtimed/" + opts.Pod.Name
	opts.Config = cfg
	agent, err := runtimed.New(opts)
	if err != nil {
		return err
	}
	return agent.Run(ctrl.SetupSignalHandler())
}
