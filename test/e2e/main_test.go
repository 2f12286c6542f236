// Package e2e runs krt end to end: a real kube-apiserver and etcd, the real
// krt-controller process, and the local runtime pool's real runtimed and
// krt-runtime processes executing real bash and python.
package e2e

import (
	"fmt"
	"os"
	"testing"
	"time"

	"krt.dev/krt/runtimed/localpool"
	"krt.dev/krt/test/kubetest"
)

var (
	env   *kubetest.Env
	bins  kubetest.Binaries
	stack *kubetest.Stack
	pool  *localpool.Pool
	// metricsURL and hookURL are krt-controller's metrics endpoint and
	// webhook receiver.
	metricsURL, hookURL string
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
	defer os.RemoveAll(bins.Dir)
	metricsAddr, err := kubetest.FreeAddress()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	hookAddr, err := kubetest.FreeAddress()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	metricsURL, hookURL = "http://"+metricsAddr+"/metrics", "http://"+hookAddr
	// Short heartbeats and claim timeouts, so that fault tests take
	// seconds, and a short scale-down window, so autoscaled pools shrink
	// within the test. A Run is claimed after 2s, so that the fencing
	// test can stall runtimed before the claim with room to spare.
	stack, err = kubetest.StartStack(env, bins, kubetest.StackOptions{
		KillGrace:     2 * time.Second,
		LeaseDuration: 3 * time.Second,
		RuntimedArgs:  []string{"--claim-after", "2s"},
		ControllerArgs: []string{"--claim-timeout", "10s", "--scale-down-stabilization", "3s", "--drain-settle", "500ms",
			"--metrics-bind-address", metricsAddr, "--webhook-bind-address", hookAddr},
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer stack.Stop()
	pool = stack.Pool
	code := m.Run()
	if races := env.RaceReports(); races != "" {
		fmt.Fprintf(os.Stderr, "the race detector reported in a krt process:\n%s\n", races)
		code = 1
	}
	return code
}
