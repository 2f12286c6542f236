// Package security is krt's attack suite. Each test plays a tenant, a step
// script, a PR author or a webhook sender against a real kube-apiserver and
// etcd, the real krt-controller and real runtimed and krt-runtime processes,
// and asserts that the attack fails and how it fails. docs/security.md is
// the threat model these tests check.
package security

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
	// krt-controller holds only what the install grants it, so an attack
	// that would need more than that is seen to fail.
	stack, err = kubetest.StartStack(env, bins, kubetest.StackOptions{
		KillGrace:        2 * time.Second,
		LeaseDuration:    3 * time.Second,
		AsServiceAccount: true,
		// Commit statuses link here (TestCommitStatusCarriesNoOutput).
		ControllerArgs: []string{"--run-url", runURLTemplate},
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
