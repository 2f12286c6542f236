// Package e2e runs krt end to end: a real kube-apiserver and etcd, the real
// krt-controller process, and the local runtime pool's real runtimed and
// krt-runtime processes executing real bash and python.
package e2e

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap/zapcore"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	"krt.dev/krt/runtimed/localpool"
	"krt.dev/krt/test/kubetest"
)

var (
	env        *kubetest.Env
	bins       kubetest.Binaries
	pool       *localpool.Pool
	controller *kubetest.Process
)

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	var err error
	if env, err = kubetest.Start(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer env.Stop()
	if bins, err = kubetest.Build(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	if controller, err = startController(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer controller.Stop()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if pool, err = startPool(ctx); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer pool.Stop()
	code := m.Run()
	if races := raceReports(); races != "" {
		fmt.Fprintf(os.Stderr, "the race detector reported in a krt process:\n%s\n", races)
		code = 1
	}
	return code
}

func startController() (*kubetest.Process, error) {
	return kubetest.StartProcess(env.Dir, "krt-controller", bins.Controller,
		"--kubeconfig", env.Kubeconfig,
		"--metrics-bind-address", "0", "--health-probe-bind-address", "0")
}

func startPool(ctx context.Context) (*localpool.Pool, error) {
	mgr, err := ctrl.NewManager(env.Config, ctrl.Options{
		Scheme:                 env.Scheme,
		Metrics:                metricsserver.Options{BindAddress: "0"},
		HealthProbeBindAddress: "0",
		Logger:                 zap.New(zap.WriteTo(os.Stderr), zap.Level(zapcore.Level(zapLevel()))),
	})
	if err != nil {
		return nil, err
	}
	p := localpool.New(localpool.Options{
		Kubeconfig:  env.Kubeconfig,
		RuntimedBin: bins.Runtimed,
		RuntimeBin:  bins.KrtRuntime,
		Dir:         filepath.Join(env.Dir, "pool"),
		KillGrace:   2 * time.Second,
	})
	if err := p.SetupWithManager(mgr); err != nil {
		return nil, err
	}
	go func() {
		if err := mgr.Start(ctx); err != nil {
			fmt.Fprintln(os.Stderr, "local pool:", err)
		}
	}()
	return p, nil
}

// raceReports collects race detector reports from every krt process the
// tests ran, which the test binary's own -race cannot see.
func raceReports() string {
	var out []string
	_ = filepath.Walk(env.Dir, func(path string, info os.FileInfo, err error) error {
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
