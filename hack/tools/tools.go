//go:build tools

// Package tools pins the binaries that tests and the dev stack run: a real
// kube-apiserver and etcd, and the rest of a node (kubelet, kube-proxy, the
// controller-manager, the scheduler, kubectl) for test/node. They are built
// from the module proxy because k8s.io/kubernetes cannot be installed with
// `go install`.
package tools

import (
	_ "go.etcd.io/etcd/server/v3"
	_ "k8s.io/kubernetes/cmd/kube-apiserver"
	_ "k8s.io/kubernetes/cmd/kube-controller-manager"
	_ "k8s.io/kubernetes/cmd/kube-proxy"
	_ "k8s.io/kubernetes/cmd/kube-scheduler"
	_ "k8s.io/kubernetes/cmd/kubectl"
	_ "k8s.io/kubernetes/cmd/kubelet"
)
