#!/usr/bin/env bash
# make node-images: the images test/node's real node runs, as tarballs in
# bin/node-images (cached in ~/.cache/krt/tools): a pause image for pod
# sandboxes and a Debian 12 image with bash and python3 (a debootstrap
# minbase, about 50 MB) for Runtimes. The krt images come from
# `make images`. Needs root and debootstrap (make test-deps).
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
out="$root/bin/node-images"
cache="${KRT_TOOLS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/krt/tools}/node-images-1"
mkdir -p "$out" "$cache"
images() { (cd "$root" && go run ./hack/images "$@"); }

if [ ! -f "$cache/pause.tar" ]; then
	echo "node-images: building the pause image"
	dir=$(mktemp -d)
	(cd "$root" && CGO_ENABLED=0 go build -trimpath -ldflags '-s -w' -o "$dir/pause" ./test/node/pause)
	images dir -dir "$dir" -tag docker.io/local/pause:1 -entrypoint /pause -user 65535:65535 -out "$cache/pause.tar.tmp"
	mv "$cache/pause.tar.tmp" "$cache/pause.tar" && rm -rf "$dir"
fi

if [ ! -f "$cache/debian-python.tar" ]; then
	if [ "$(id -u)" != 0 ] || ! command -v debootstrap >/dev/null; then
		echo "node-images: the bash + python3 image needs root and debootstrap (make test-deps installs it)" >&2
		exit 1
	fi
	echo "node-images: debootstrap of Debian 12 with python3 (first time only; about 2 minutes)"
	rootfs="$cache/debian-python.rootfs"
	# --one-file-system: a debootstrap killed midway can leave mounts in it.
	rm -rf --one-file-system "$rootfs"
	# python3, not python3-minimal: steps use json and http.
	debootstrap --variant=minbase --include=python3 bookworm "$rootfs" http://deb.debian.org/debian >"$cache/debootstrap.log" 2>&1 ||
		{ tail -20 "$cache/debootstrap.log" >&2; exit 1; }
	rm -rf "$rootfs"/usr/share/doc "$rootfs"/usr/share/man "$rootfs"/usr/share/locale \
		"$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/* "$rootfs"/dev/*
	images dir -dir "$rootfs" -tag docker.io/local/debian-python:12 -cmd /bin/bash -out "$cache/debian-python.tar.tmp"
	mv "$cache/debian-python.tar.tmp" "$cache/debian-python.tar" && rm -rf --one-file-system "$rootfs"
fi
ln -sf "$cache/pause.tar" "$out/pause.tar"
ln -sf "$cache/debian-python.tar" "$out/debian-python.tar"
echo "node-images: ready in $out"
