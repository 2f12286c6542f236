// Package gitops tests the source controller end to end: a real
// kube-apiserver and etcd, the real krt-controller process, and real git
// repositories served over HTTP by `git http-backend`, pushed to by the
// real git client.
package gitops

import (
	"fmt"
	"os"
	"testing"

	"krt.dev/krt/test/kubetest"
)

var (
	env   *kubetest.Env
	stack *kubetest.Stack
	bins  kubetest.Binaries
	// hookURL is the base URL of the controller's webhook receiver.
	hookURL string
)

// fetchLimit is krt-controller's --git-max-fetch-size in these tests.
const fetchLimit = "2Mi"

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
	bins, err = kubetest.Build()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(bins.Dir)
	addr, err := kubetest.FreeAddress()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	hookURL = "http://" + addr
	// --flux=auto, not true: this API server has Flux's CRDs, so the Flux
	// tests show that auto finds them (TestFluxAutoWithoutFlux, that it
	// does not where they are absent).
	stack, err = kubetest.StartStack(env, bins, kubetest.StackOptions{
		AdminRuntimed: true,
		ControllerArgs: []string{"--controllers", "source", "--webhook-bind-address", addr, "--flux", "auto",
			// Tests poll every second, download artifacts from their own
			// loopback servers, and push large commits cheaply.
			"--min-interval", "1s", "--artifact-hosts", "127.0.0.1", "--git-max-fetch-size", fetchLimit},
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer stack.Stop()
	code := m.Run()
	if races := env.RaceReports(); races != "" {
		fmt.Fprintf(os.Stderr, "the race detector reported in a krt process:\n%s\n", races)
		code = 1
	}
	return code
}
