# krt. `make test` and `make run` do all of their own setup on a fresh machine.

# fluxcd/pkg/runtime needs Go 1.27; the module proxy serves the toolchain.
export GOTOOLCHAIN := auto
export GOFLAGS := -buildvcs=false

BIN := $(CURDIR)/bin
export KUBEBUILDER_ASSETS := $(BIN)
TOOLS := $(BIN)/kube-apiserver $(BIN)/etcd $(BIN)/controller-gen $(BIN)/buf $(BIN)/helm \
	$(BIN)/promtool $(BIN)/kubelet $(BIN)/kube-proxy $(BIN)/kubectl $(BIN)/containerd $(BIN)/versitygw

# A shared, noisy machine: bound each test binary, keep the whole suite well
# under CI's 90 minutes.
TEST_TIMEOUT ?= 30m
# -count=1: the e2e packages build krt's binaries in a subprocess, which
# go test's result cache cannot see, so a cached pass could be stale.
TEST_FLAGS ?= -race -count=1
TEST_PKGS ?= ./...

.PHONY: all tools generate build images node-images test test-deps bench run clean

all: build

## tools: pinned kube-apiserver, etcd, controller-gen, buf, helm, promtool and versitygw in bin/ (cached in ~/.cache/krt/tools).
tools: $(TOOLS)

$(TOOLS) &: hack/tools.sh hack/tools/go.mod
	bash hack/tools.sh

## generate: deep-copies, CRDs, RBAC, the runtime protocol's gRPC code, and their copies in charts/krt.
generate: $(TOOLS)
	$(BIN)/controller-gen object:headerFile=hack/boilerplate.go.txt paths=./api/...
	$(BIN)/controller-gen crd paths=./api/... output:crd:artifacts:config=config/crd/bases
	@# RBAC: a ClusterRole per controller, from the markers in its package,
	@# so that an install binds only the controllers it runs (one with a
	@# namespaced rule also gets a Role there); and runtimed's, which the
	@# runtime controller binds in each Runtime's namespace.
	rm -f config/rbac/*.yaml config/rbac/kustomization.yml
	for d in $$(grep -l '^// +kubebuilder:rbac' controllers/*/*.go | xargs -n1 dirname | sort -u); do \
		$(BIN)/controller-gen rbac:roleName=krt-controller-$${d##*/} paths=./$$d/... output:rbac:stdout \
			> config/rbac/controller-$${d##*/}.yaml || exit 1; done
	$(BIN)/controller-gen rbac:roleName=krt-runtimed paths=./runtimed output:rbac:stdout > config/rbac/runtimed.yaml
	@# .yml: krt dev and the tests apply every *.yaml in config/rbac.
	{ echo '# Written by make generate: every role in this folder.'; \
		echo 'apiVersion: kustomize.config.k8s.io/v1beta1'; echo 'kind: Kustomization'; echo 'resources:'; \
		for f in config/rbac/*.yaml; do echo "  - $${f##*/}"; done; } > config/rbac/kustomization.yml
	cd api/runtime/v1 && PATH=$(BIN):$$PATH $(BIN)/buf generate
	@# Flux's GitRepository and ExternalArtifact CRDs, from its API module,
	@# for the tests that read a Flux source.
	rm -rf $(BIN)/fluxcrds && cd $$(go list -m -f '{{.Dir}}' github.com/fluxcd/source-controller/api) && \
		GOFLAGS=-mod=mod $(BIN)/controller-gen crd paths=./v1 output:crd:artifacts:config=$(BIN)/fluxcrds
	mkdir -p test/crds/flux && cp $(BIN)/fluxcrds/source.toolkit.fluxcd.io_gitrepositories.yaml \
		$(BIN)/fluxcrds/source.toolkit.fluxcd.io_externalartifacts.yaml test/crds/flux/
	@# config/ is the one source of truth for the install: the kustomize base
	@# lists every CRD, and the chart carries copies of the CRDs, the
	@# roles and the admission policies.
	{ echo '# Written by make generate: every CRD in bases/.'; \
		echo 'apiVersion: kustomize.config.k8s.io/v1beta1'; echo 'kind: Kustomization'; echo 'resources:'; \
		for f in config/crd/bases/*.yaml; do echo "  - bases/$${f##*/}"; done; } > config/crd/kustomization.yaml
	rm -rf charts/krt/crds charts/krt/files && mkdir -p charts/krt/crds charts/krt/files/policy charts/krt/files/rbac charts/krt/files/monitoring
	cp config/crd/bases/*.yaml charts/krt/crds/
	cp config/rbac/*.yaml charts/krt/files/rbac/
	cp config/policy/*.yaml charts/krt/files/policy/
	cp config/monitoring/alerts.yaml config/monitoring/dashboard.json charts/krt/files/monitoring/

# What `krt version` reports.
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo devel)

## build: the krt, krt-controller, runtimed and krt-runtime binaries in bin/.
build:
	CGO_ENABLED=0 go build -ldflags "-X krt.dev/krt/cmd/krt/cli.Version=$(VERSION)" -o $(BIN)/ ./cmd/...

# Where `make images` tags krt's images; the install defaults are
# ghcr.io/krt-dev/krt-controller and ghcr.io/krt-dev/krt-runtimed.
IMAGE_REGISTRY ?= ghcr.io/krt-dev
IMAGE_TAG ?= $(VERSION)

## images: the krt-controller and krt-runtimed images as OCI tarballs in bin/images (no docker); with IMAGE_REGISTRY=… on the command line, also pushed there.
# hack/images assembles them from the static binaries, reproducibly: the
# same tree and SOURCE_DATE_EPOCH (default: HEAD's commit time) give the
# same digests. IMAGE_PLATFORMS=linux/amd64,linux/arm64 makes an index.
IMAGE_PLATFORMS ?= linux/amd64
# Pushed when IMAGE_REGISTRY is given on the command line; one merely
# exported (a CI job's environment) pushes nothing unless IMAGE_PUSH=1.
IMAGE_PUSH ?= $(if $(filter command line,$(origin IMAGE_REGISTRY)),1,0)
images:
	go run ./hack/images krt -registry $(IMAGE_REGISTRY) -tag $(IMAGE_TAG) -version $(VERSION) \
		-platforms $(IMAGE_PLATFORMS) -out $(BIN)/images $(if $(filter 1 true yes,$(IMAGE_PUSH)),-push)

## test: the whole suite against a real kube-apiserver and etcd, and test/node's real node, with the race detector.
test: $(TOOLS) test-deps node-images
	go test $(TEST_FLAGS) -timeout $(TEST_TIMEOUT) $(TEST_PKGS)

## node-images: the pause and Debian bash + python3 images test/node's real node runs (cached in ~/.cache/krt/tools).
node-images: test-deps
	@bash hack/node-images.sh

## test-deps: tmux, chromium, kubectl, runc, CNI plugins, iptables, conntrack and debootstrap, which the tests drive, from Debian's packages where missing (as root or with sudo).
test-deps:
	@bash hack/test-deps.sh

## run: the GitOps demo: krt dev up, a push to its git repository, the WorkflowRun it causes, its logs.
run: $(TOOLS)
	bash hack/make-run.sh

## bench: the DESIGN's performance figures, as ratios to baselines taken in the same run.
bench: $(TOOLS)
	go run ./test/bench -out $${BENCH_OUT:-bench.json}

clean:
	rm -rf $(BIN)/krt $(BIN)/krt-controller $(BIN)/runtimed $(BIN)/krt-runtime $(BIN)/images
