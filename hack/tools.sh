#!/usr/bin/env bash
# Builds the pinned kube-apiserver, etcd, controller-gen, buf and helm into bin/.
# The binaries are cached outside the clone (~/.cache/krt/tools/<pins>) so a
# fresh clone, which is what CI uses, reuses them instead of rebuilding.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
bin="$root/bin"
k8s_version=v1.37.2
etcd_version=v3.7.3
controller_gen_version=v0.23.0
buf_version=v1.75.0
protoc_gen_go_version=v1.36.12
protoc_gen_go_grpc_version=v1.6.2
# The newest helm 3: the chart is apiVersion v2, which helm 3 and 4 both read,
# and 3 is what most clusters are still installed with.
helm_version=v3.22.0
cache="${KRT_TOOLS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/krt/tools}/k8s-$k8s_version-etcd-$etcd_version"

mkdir -p "$bin" "$cache"

build() { # name, then the go build arguments
	local name=$1; shift
	if [ -x "$cache/$name" ]; then
		echo "tools: $name cached in $cache"
	else
		echo "tools: building $name (first time only; kube-apiserver takes a few minutes)"
		(cd "$root/hack/tools" && CGO_ENABLED=0 go build -trimpath -o "$cache/$name.tmp" "$@")
		mv "$cache/$name.tmp" "$cache/$name"
	fi
	ln -sf "$cache/$name" "$bin/$name"
}

install() { # name, module@version, then any go install flags
	local name=$1 mod=$2
	local dir="$cache/$name-${mod##*@}"
	if [ ! -x "$dir/$name" ]; then
		echo "tools: installing $mod"
		GOBIN="$dir" go install "${@:3}" "$mod"
	fi
	ln -sf "$dir/$name" "$bin/$name"
}

build etcd go.etcd.io/etcd/server/v3
build kube-apiserver k8s.io/kubernetes/cmd/kube-apiserver
install controller-gen "sigs.k8s.io/controller-tools/cmd/controller-gen@$controller_gen_version"
install buf "github.com/bufbuild/buf/cmd/buf@$buf_version"
install protoc-gen-go "google.golang.org/protobuf/cmd/protoc-gen-go@$protoc_gen_go_version"
install protoc-gen-go-grpc "google.golang.org/grpc/cmd/protoc-gen-go-grpc@$protoc_gen_go_grpc_version"
# helm has its own go.mod (k8s.io/* at v0.37.0, no replaces): installing it
# at its version keeps it out of the tools module, whose k8s.io/* pins serve
# kube-apiserver. About 1.5 minutes on 2 cores, the first time. The ldflags
# are helm's own Makefile's: without them `helm template` assumes
# Kubernetes 1.20 and refuses the chart's kubeVersion.
install helm "helm.sh/helm/v3/cmd/helm@$helm_version" -trimpath -ldflags "-s -w \
	-X helm.sh/helm/v3/internal/version.version=$helm_version \
	-X helm.sh/helm/v3/pkg/chartutil.k8sVersionMajor=1 -X helm.sh/helm/v3/pkg/chartutil.k8sVersionMinor=37 \
	-X helm.sh/helm/v3/pkg/lint/rules.k8sVersionMajor=1 -X helm.sh/helm/v3/pkg/lint/rules.k8sVersionMinor=37"
echo "tools: ready in $bin"
