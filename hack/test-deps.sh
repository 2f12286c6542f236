#!/usr/bin/env bash
# make test-deps: the programs that the tests drive and Go does not build:
# tmux (test/devup runs `krt dev up` in a terminal), chromium (test/ui
# drives the web UI in headless Chromium), kubectl (the
# README's `kubectl get runs` and `kubectl get krt`), and what test/node's
# real node needs beside the binaries `make tools` builds: runc, the CNI
# plugins, iptables and conntrack (kube-proxy), and debootstrap (its
# bash + python3 image). It installs only
# what is missing, from Debian's packages with apt-get, as root (or
# through sudo without a password). Where it cannot, it says what to
# install and fails: the tests never fall back to something else.
set -euo pipefail

# Debian ships kubectl in kubernetes-client; a path names a file that a
# package installs off PATH.
declare -A package=([tmux]=tmux [chromium]=chromium [kubectl]=kubernetes-client [runc]=runc
	[/usr/lib/cni/bridge]=containernetworking-plugins [iptables]=iptables [conntrack]=conntrack
	[debootstrap]=debootstrap)

present() { if [[ $1 == /* ]]; then [ -x "$1" ]; else command -v "$1" >/dev/null 2>&1; fi; }

missing=() packages=()
for tool in tmux chromium kubectl runc /usr/lib/cni/bridge iptables conntrack debootstrap; do
	if ! present "$tool"; then
		missing+=("$tool")
		packages+=("${package[$tool]}")
	fi
done
[ ${#missing[@]} -eq 0 ] && exit 0

cannot() {
	echo "make test-deps: the tests need ${missing[*]}, which this machine lacks, and $1." >&2
	echo "make test-deps: install them (Debian: apt-get install ${packages[*]}) and run make test again." >&2
	exit 1
}
command -v apt-get >/dev/null 2>&1 || cannot "there is no apt-get here"
as_root=()
if [ "$(id -u)" != 0 ]; then
	sudo -n true 2>/dev/null || cannot "installing them needs root (or sudo without a password)"
	as_root=(sudo -n)
fi
echo "make test-deps: installing ${missing[*]} (Debian packages: ${packages[*]})"
"${as_root[@]}" apt-get update -qq || cannot "apt-get update failed"
"${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${packages[@]}" ||
	cannot "apt-get install ${packages[*]} failed"
for tool in "${missing[@]}"; do
	present "$tool" || cannot "$tool is still not on PATH after installing ${package[$tool]}"
done
