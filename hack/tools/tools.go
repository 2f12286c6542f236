//go:build tools

// Package tools pins the binaries that tests and the dev stack run: a real
// kube-apiserver and etcd, built from the module proxy because
// k8s.io/kubernetes cannot be installed with `go install`.
package tools

import (
	_ "go.etcd.io/etcd/server/v3"
	_ "k8s.io/kubernetes/cmd/kube-apiserver"
)
