// Command pause is the node's pod sandbox: it holds the pod's namespaces
// and does nothing until it is told to stop. It is built here because
// the node has no registry to pull registry.k8s.io/pause from.
package main

import (
	"os"
	"os/signal"
	"syscall"
)

func main() {
	// As PID 1 of the pod's sandbox, reap whatever is re-parented to us.
	signal.Ignore(syscall.SIGCHLD)
	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGINT, syscall.SIGTERM)
	<-stop
}
