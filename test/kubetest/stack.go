package kubetest

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"go.uber.org/zap/zapcore"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/config"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	"krt.dev/krt/runtimed/localpool"
)

// Stack is krt running against an Env: the krt-controller process and the
// local runtime pool, whose runtimed and krt-runtime are real processes.
type Stack struct {
	Controller *Process
	Pool       *localpool.Pool
	// ControllerKubeconfig holds krt-controller's credentials: the admin's,
	// or its ServiceAccount's with AsServiceAccount.
	ControllerKubeconfig string
	env                  *Env
	bins                 Binaries
	opts                 StackOptions
	cancel               context.CancelFunc
}

// StackOptions tune a Stack.
type StackOptions struct {
	// ControllerArgs are added to krt-controller's flags.
	ControllerArgs []string
	// RuntimedArgs are added to each runtimed's flags.
	RuntimedArgs []string
	// AdminRuntimed runs runtimed with admin credentials instead of its
	// pod's ServiceAccount token, for a controller without the Runtime
	// controller.
	AdminRuntimed bool
	// LeaseDuration of runtime pod heartbeats; 15s when zero.
	LeaseDuration time.Duration
	// KillGrace between SIGTERM and SIGKILL for cancelled Runs.
	KillGrace time.Duration
	// AsServiceAccount runs krt-controller as the install's ServiceAccount,
	// under the ClusterRole controller-gen writes and the bindings in
	// config/ (see Env.ControllerKubeconfig), instead of as the admin.
	AsServiceAccount bool
	// NoPool starts krt-controller alone: the caller plays the runtime
	// pods (the bench simulates hundreds, too many for real processes).
	NoPool bool
}

// StartStack starts krt-controller and the local pool.
func StartStack(env *Env, bins Binaries, opts StackOptions) (*Stack, error) {
	s := &Stack{env: env, bins: bins, opts: opts, ControllerKubeconfig: env.Kubeconfig}
	if opts.AsServiceAccount {
		var err error
		if s.ControllerKubeconfig, err = env.ControllerKubeconfig(); err != nil {
			return nil, fmt.Errorf("krt-controller's ServiceAccount: %w", err)
		}
	}
	if err := s.StartController(); err != nil {
		return nil, err
	}
	if opts.NoPool {
		return s, nil
	}
	ctx, cancel := context.WithCancel(context.Background())
	s.cancel = cancel
	mgr, err := ctrl.NewManager(env.Config, ctrl.Options{
		Scheme:                 env.Scheme,
		Metrics:                metricsserver.Options{BindAddress: "0"},
		HealthProbeBindAddress: "0",
		// A test process may run one pool per cluster it starts.
		Controller: config.Controller{SkipNameValidation: ptr.To(true)},
	})
	if err != nil {
		s.Stop()
		return nil, err
	}
	s.Pool = localpool.New(localpool.Options{
		Kubeconfig:    env.Kubeconfig,
		RuntimedBin:   bins.Runtimed,
		RuntimeBin:    bins.KrtRuntime,
		Dir:           filepath.Join(env.Dir, "pool"),
		LeaseDuration: opts.LeaseDuration,
		KillGrace:     opts.KillGrace,
		RuntimedArgs:  opts.RuntimedArgs,

		ServiceAccountTokens: !opts.AdminRuntimed,
	})
	if err := s.Pool.SetupWithManager(mgr); err != nil {
		s.Stop()
		return nil, err
	}
	go func() {
		if err := mgr.Start(ctx); err != nil {
			fmt.Fprintln(os.Stderr, "local pool:", err)
		}
	}()
	return s, nil
}

// StartController starts (or restarts) the krt-controller process with
// the stack's ControllerArgs, then args: a restarted controller keeps the
// addresses and timings the package's tests rely on.
func (s *Stack) StartController(args ...string) error {
	args = append(append([]string(nil), s.opts.ControllerArgs...), args...)
	// No webhook receiver unless a test asks for one (later flags win), so
	// test packages running side by side never fight over a port.
	base := []string{"--kubeconfig", s.ControllerKubeconfig, "--metrics-bind-address", "0", "--health-probe-bind-address", "0",
		"--webhook-bind-address", "", "--git-cache-dir", filepath.Join(s.env.Dir, "git-cache")}
	p, err := StartProcess(s.env.Dir, "krt-controller", s.bins.Controller, append(base, args...)...)
	if err != nil {
		return err
	}
	s.Controller = p
	return nil
}

// Stop ends the pool's processes and the controller.
func (s *Stack) Stop() {
	if s.cancel != nil {
		s.cancel()
	}
	if s.Pool != nil {
		s.Pool.Stop()
	}
	if s.Controller != nil {
		s.Controller.Stop()
	}
}

// ControllerState explains a stuck test when the controller has died or
// the API server has refused it something.
func (s *Stack) ControllerState() string {
	if s.Controller == nil {
		return ""
	}
	if s.Controller.Exited() {
		return "\nkrt-controller has exited:\n" + s.Controller.Tail(20)
	}
	if refused := s.Controller.Refusals(0, 5); refused != "" {
		return "\nthe API server refused krt-controller:\n" + refused
	}
	return ""
}

// RaceReports names the process logs in which the race detector reported,
// which a test binary's own -race cannot see.
func (e *Env) RaceReports() string {
	var out []string
	_ = filepath.Walk(e.Dir, func(path string, info os.FileInfo, err error) error {
		if err != nil || info.IsDir() || !(strings.HasSuffix(path, ".log") || strings.HasSuffix(path, ".err")) {
			return nil
		}
		data, _ := os.ReadFile(path)
		if strings.Contains(string(data), "WARNING: DATA RACE") {
			out = append(out, path)
		}
		return nil
	})
	return strings.Join(out, "\n")
}

func logLevel() zapcore.Level {
	if os.Getenv("KRT_TEST_VERBOSE") != "" {
		return zapcore.DebugLevel
	}
	return zapcore.ErrorLevel
}
