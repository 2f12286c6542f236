package node_test

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"testing"
	"time"

	"sigs.k8s.io/controller-runtime/pkg/client"

	"krt.dev/krt/api/scheme"
	"krt.dev/krt/test/kubetest"
	"krt.dev/krt/test/node"
)

var (
	theNode *node.Node
	c       client.Client
	bins    kubetest.Binaries
	root    string
)

// TestMain starts one real node for the package, with krt's chart
// installed on it, and tears it all down after.
func TestMain(m *testing.M) {
	code, err := run(m)
	if err != nil {
		fmt.Fprintln(os.Stderr, "test/node:", err)
		code = 1
	}
	os.Exit(code)
}

func run(m *testing.M) (int, error) {
	// Waiting for test/node/crash's node, building the images, starting
	// the node and installing the chart, on a loaded machine.
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Minute)
	defer cancel()
	var err error
	if root, err = kubetest.RepoRoot(); err != nil {
		return 0, err
	}
	images, err := node.BuildKrtImages(ctx, root)
	if err != nil {
		return 0, err
	}
	defer os.RemoveAll(images)
	if theNode, err = node.Start(ctx, node.KrtOptions(root, images)); err != nil {
		return 0, err
	}
	defer theNode.Stop()
	// Interrupted (Ctrl-C, or CI's timeout sending SIGTERM), the node
	// still stops: left running, it would keep the kubelet's sysctls.
	signals := make(chan os.Signal, 1)
	signal.Notify(signals, os.Interrupt, syscall.SIGTERM)
	go func() {
		<-signals
		theNode.Stop()
		os.Exit(1)
	}()
	if c, err = client.New(theNode.Config, client.Options{Scheme: scheme.New()}); err != nil {
		return 0, err
	}
	if bins, err = kubetest.Build(); err != nil {
		return 0, err
	}
	defer os.RemoveAll(bins.Dir)
	if err := theNode.InstallChart(ctx, root); err != nil {
		return 0, err
	}
	return m.Run(), nil
}
