#!/usr/bin/env bash
# Builds the pinned kube-apiserver, etcd, controller-gen, buf, helm, promtool
# and versitygw into bin/,
# and what test/node runs a real node with: kubelet, kube-proxy,
# kube-controller-manager, kube-scheduler, kubectl and containerd v2.
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
# Prometheus v3.16.0 (its module numbers v3.x as v0.3xx), whose promtool
# unit-tests charts/krt's alert rules (test/monitoring).
promtool_version=v0.316.0
containerd_version=v2.4.2
# versitygw, an S3 gateway whose POSIX backend serves a plain directory: the
# real S3 server that test/s3server starts for the artifact store's tests.
versitygw_version=v1.8.0
# -2: since the binaries carry Kubernetes' version ldflags. Without them they
# report v0.0.0-master+$Format:%H$, which `kubectl version` cannot parse and
# Helm's kubeVersion check refuses.
cache="${KRT_TOOLS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/krt/tools}/k8s-$k8s_version-etcd-$etcd_version-2"
k8s_ldflags="-X k8s.io/component-base/version.gitVersion=$k8s_version \
	-X k8s.io/component-base/version.gitMajor=1 -X k8s.io/component-base/version.gitMinor=37 \
	-X k8s.io/component-base/version.gitTreeState=clean \
	-X k8s.io/client-go/pkg/version.gitVersion=$k8s_version \
	-X k8s.io/client-go/pkg/version.gitMajor=1 -X k8s.io/client-go/pkg/version.gitMinor=37"

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

# progress: a build of thousands of packages is silent for minutes, so count
# them as go build -v names them, against go list's total.
progress() { # label, then the packages
	local label=$1; shift
	local total
	total=$(cd "$root/hack/tools" && go list -deps "$@" 2>/dev/null | wc -l)
	awk -v label="$label" -v total="$total" -v start="$(date +%s)" '
		/ / { print; fflush(); next }
		{ n++ } n % 250 == 0 { printf "tools: %s: %d of about %d packages, %ds\n", label, n, total, systime() - start; fflush() }'
}

build() { # name, then the go build arguments
	local name=$1; shift
	if [ -x "$cache/$name" ]; then
		echo "tools: $name cached in $cache"
	else
		echo "tools: building $name (first time only)"
		(cd "$root/hack/tools" && CGO_ENABLED=0 go build -v -trimpath -o "$cache/$name.tmp" "$@") 2>&1 | progress "$name" "${@: -1}"
		mv "$cache/$name.tmp" "$cache/$name"
	fi
	ln -sf "$cache/$name" "$bin/$name"
}

# Kubernetes' binaries in one go build, so they share its compile work:
# about 8 minutes for kube-apiserver cold and 8 more for the rest.
kube=(kube-apiserver kube-controller-manager kube-scheduler kubelet kube-proxy kubectl)
pkgs=()
for name in "${kube[@]}"; do
	[ -x "$cache/$name" ] || pkgs+=("k8s.io/kubernetes/cmd/$name")
done
if [ ${#pkgs[@]} -gt 0 ]; then
	echo "tools: building ${pkgs[*]##*/} $k8s_version (first time only; about 15 minutes on 2 cores)"
	rm -rf "$cache/kube.tmp" && mkdir -p "$cache/kube.tmp"
	(cd "$root/hack/tools" && CGO_ENABLED=0 go build -v -trimpath -ldflags "$k8s_ldflags" -o "$cache/kube.tmp/" "${pkgs[@]}") 2>&1 |
		progress kubernetes "${pkgs[@]}"
	mv "$cache"/kube.tmp/* "$cache/" && rmdir "$cache/kube.tmp"
fi
for name in "${kube[@]}"; do ln -sf "$cache/$name" "$bin/$name"; done
build etcd go.etcd.io/etcd/server/v3
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
# promtool has Prometheus's go.mod, with no replaces, so it installs at its
# version. remove_all_sd, Prometheus's own build tag, leaves out every
# service discovery (the cloud SDKs), which rule tests never use: about 3
# minutes of CPU the first time instead of 15.
install promtool "github.com/prometheus/prometheus/cmd/promtool@$promtool_version" -trimpath -tags remove_all_sd
# versitygw has its own go.mod with no replaces, so it installs at its
# version; its directory name carries the version, so bumping it needs no new
# cache key. -ldflags: its own Makefile's, so `versitygw --version` says what
# it is.
install versitygw "github.com/versity/versitygw/cmd/versitygw@$versitygw_version" -trimpath -ldflags "-s -w \
	-X main.Version=$versitygw_version"
# containerd v2 for test/node's kubelet (1.37 warns that 1.38 drops
# containerd 1.x, which is what Debian ships). No cgo: the snapshotters
# that need it are left out; test/node uses overlayfs.
dir="$cache/containerd-$containerd_version"
if [ ! -x "$dir/containerd" ]; then
	echo "tools: installing containerd $containerd_version (first time only; about 4 minutes)"
	GOBIN="$dir" CGO_ENABLED=0 go install -trimpath -tags 'no_btrfs no_devmapper no_zfs no_aufs' \
		-ldflags "-X github.com/containerd/containerd/v2/version.Version=$containerd_version" \
		"github.com/containerd/containerd/v2/cmd/containerd@$containerd_version" \
		"github.com/containerd/containerd/v2/cmd/containerd-shim-runc-v2@$containerd_version" \
		"github.com/containerd/containerd/v2/cmd/ctr@$containerd_version"
fi
for name in containerd containerd-shim-runc-v2 ctr; do ln -sf "$dir/$name" "$bin/$name"; done
echo "tools: ready in $bin"
