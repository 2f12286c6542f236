// Package promote runs workflows end to end across three real clusters:
// a hub, where the Workflow and WorkflowRun live and the full
// krt-controller runs, and "staging" and "prod" API servers, each with its
// own krt-controller (scheduler, reaper, runtime controller) and local
// runtime pool executing real bash and python. The prod API server serves
// both prod-eu and prod-us, as two Cluster objects with a namespace each.
package promote

import (
	"fmt"
	"os"
	"testing"
	"time"

	"krt.dev/krt/test/kubetest"
)

// cluster is one API server with krt running on it.
type cluster struct {
	env   *kubetest.Env
	stack *kubetest.Stack
}

var (
	bins               kubetest.Binaries
	hub, staging, prod cluster
	// hubArgs are the hub controller's flags, kept for its restarts; its
	// webhook receiver, at hookURL, takes pull request events.
	hubArgs []string
	hookURL string
)

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	var err error
	if bins, err = kubetest.Build(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(bins.Dir)
	addr, err := kubetest.FreeAddress()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	hookURL, hubArgs = "http://"+addr, []string{"--webhook-bind-address", addr}
	if otlp, err = startOTLP(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer otlp.srv.Stop()
	remote := []string{"--controllers", "scheduler,reaper,ttl,runtime"}
	for _, c := range []struct {
		into *cluster
		args []string
	}{{&hub, hubArgs}, {&staging, remote}, {&prod, remote}} {
		stop, err := start(c.into, c.args)
		if stop != nil {
			defer stop()
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
	}
	code := m.Run()
	for _, c := range []cluster{hub, staging, prod} {
		if races := c.env.RaceReports(); races != "" {
			fmt.Fprintf(os.Stderr, "the race detector reported in a krt process:\n%s\n", races)
			code = 1
		}
	}
	return code
}

func start(c *cluster, controllerArgs []string) (func(), error) {
	env, err := kubetest.Start()
	if err != nil {
		return nil, err
	}
	c.env = env
	stack, err := kubetest.StartStack(env, bins, kubetest.StackOptions{
		KillGrace: 2 * time.Second, LeaseDuration: 3 * time.Second, ControllerArgs: controllerArgs,
	})
	if err != nil {
		return env.Stop, err
	}
	c.stack = stack
	return func() { stack.Stop(); env.Stop() }, nil
}
