// Command nodeup starts test/node's real node with krt installed, for
// looking around by hand, and stops it on Ctrl-C:
//
//	go run ./test/node/nodeup
//	kubectl --kubeconfig /tmp/krt-node/admin.kubeconfig get pods -A
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"krt.dev/krt/test/kubetest"
	"krt.dev/krt/test/node"
)

func main() {
	bare := flag.Bool("bare", false, "start the node only, without krt's images and chart")
	flag.Parse()
	if err := run(*bare); err != nil {
		fmt.Fprintln(os.Stderr, "nodeup:", err)
		os.Exit(1)
	}
}

func run(bare bool) error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	root, err := kubetest.RepoRoot()
	if err != nil {
		return err
	}
	opts := node.KrtOptions(root, "")
	if bare {
		opts.Images = opts.Images[:2]
	} else {
		images, err := node.BuildKrtImages(ctx, root)
		if err != nil {
			return err
		}
		defer os.RemoveAll(images)
		opts = node.KrtOptions(root, images)
	}
	n, err := node.Start(ctx, opts)
	if err != nil {
		return err
	}
	defer n.Stop()
	if !bare {
		if err := n.InstallChart(ctx, root); err != nil {
			return err
		}
	}
	fmt.Printf("node up: kubectl --kubeconfig %s get pods -A\n", n.Kubeconfig)
	<-ctx.Done()
	return nil
}
