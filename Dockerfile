# krt's two images, from one build stage:
#   docker build --target controller -t ghcr.io/krt-dev/krt-controller:v0.1.0 .
#   docker build --target runtimed   -t ghcr.io/krt-dev/krt-runtimed:v0.1.0 .
# (`make images` runs both.) The default target is the controller.

# go.mod asks for Go 1.27; the builder runs on the build machine's
# platform and cross-compiles, which is faster than emulating the target.
FROM --platform=$BUILDPLATFORM golang:1.27 AS build
ARG TARGETOS TARGETARCH
WORKDIR /src
ENV CGO_ENABLED=0 GOFLAGS=-buildvcs=false
COPY go.mod go.sum ./
RUN --mount=type=cache,target=/go/pkg/mod go mod download
COPY . .
# Static binaries (CGO off): krt-runtime in particular is copied into
# whatever image a Runtime names, so it must not need that image's libc.
RUN --mount=type=cache,target=/go/pkg/mod --mount=type=cache,target=/root/.cache/go-build \
    GOOS=$TARGETOS GOARCH=$TARGETARCH go build -trimpath -ldflags "-s -w" -o /out/ \
        ./cmd/krt-controller ./cmd/runtimed ./cmd/krt-runtime

# Runtime pods (controllers/runtime/podtemplate.go) take both binaries from
# this image by path: the init container runs
# `/krt-runtime --install /krt/bin/krt-runtime` to copy it onto a shared
# emptyDir, and the sidecar runs `/runtimed`. Both run as 65532, the
# distroless nonroot user, under the restricted Pod Security Standard.
FROM gcr.io/distroless/static:nonroot AS runtimed
COPY --from=build /out/runtimed /out/krt-runtime /
USER 65532:65532
ENTRYPOINT ["/runtimed"]

# krt-controller: no shell, no git binary (go-git), CA certificates from
# distroless for fetching over HTTPS.
FROM gcr.io/distroless/static:nonroot AS controller
COPY --from=build /out/krt-controller /krt-controller
USER 65532:65532
ENTRYPOINT ["/krt-controller"]
