#!/usr/bin/env bash
# make run: krt's end-to-end GitOps demo. It starts the dev stack (a hub,
# staging and prod), clones the stack's git repository, pushes a change to
# workflows/hello.yaml, waits for the WorkflowRun that the push causes,
# shows its graph and each step's logs (from whichever cluster ran it),
# then stops the stack. It exits 0 when the run succeeded.
#
# python3 reads the JSON of state.json and of the run: the python runtime
# needs it anyway, and it spares a dependency on jq or kubectl.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
krt="$root/bin/krt"
export GOTOOLCHAIN=${GOTOOLCHAIN:-auto} GOFLAGS=${GOFLAGS:--buildvcs=false}
started=$(date +%s)

say() { printf '\n==> %s\n' "$*"; }
elapsed() { echo "$(($(date +%s) - started))s"; }
die() {
	echo "make run: $*" >&2
	exit 1
}

say "building krt (bin/)"
version=$(git -C "$root" describe --tags --always --dirty 2>/dev/null || echo devel)
(cd "$root" && CGO_ENABLED=0 go build -ldflags "-X krt.dev/krt/cmd/krt/cli.Version=$version" -o bin/ ./cmd/...)

# A fresh directory each time: the demo does not depend on, or disturb, a
# `krt dev up` of the user's own, and a second `make run` starts clean.
dir=$(mktemp -d "${TMPDIR:-/tmp}/krt-run.XXXXXX")
up_pid=""
ok=0
cleanup() {
	if [ -n "$up_pid" ] && kill -0 "$up_pid" 2>/dev/null; then
		"$krt" dev down --dir "$dir" >/dev/null || true
		wait "$up_pid" 2>/dev/null || true
	fi
	if [ "$ok" = 1 ]; then
		rm -rf "$dir"
	else
		echo "make run: the stack's logs are in $dir/logs (and its output in $dir/up.log)" >&2
	fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

say "starting krt dev up --clusters staging,prod in $dir"
# Ports 0: any free ones, so a `krt dev up` already running is no bother.
: >"$dir/up.log" # before the stack writes it, so the progress loop can read it at once
"$krt" dev up --dir "$dir" --clusters staging,prod --git-port 0 --webhook-port 0 --ui-port 0 >"$dir/up.log" 2>&1 &
up_pid=$!

# Progress is the stack's own: its new lines, as they come.
shown=0
show_progress() {
	local n
	n=$(wc -l <"$dir/up.log")
	if [ "$n" -gt "$shown" ]; then
		sed -n "$((shown + 1)),${n}p" "$dir/up.log" | grep '^krt dev:\|^note:' || true
		shown=$n
	fi
}
for _ in $(seq 1 600); do
	show_progress
	if "$krt" dev status --dir "$dir" >/dev/null 2>&1; then break; fi
	kill -0 "$up_pid" 2>/dev/null || { cat "$dir/up.log" >&2; die "krt dev up exited"; }
	sleep 0.2
done
"$krt" dev status --dir "$dir" >/dev/null || die "the dev stack was not ready after 2 minutes"
echo "ready after $(elapsed)"

# The hub's kubeconfig and the git URL, from state.json.
state="$dir/state.json"
field() { python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])' "$state" "$1"; }
export KUBECONFIG
KUBECONFIG=$(field kubeconfig)
git_url=$(field gitURL)

say "cloning $git_url and pushing a change to workflows/hello.yaml"
g() { git -c user.name="krt make run" -c user.email=run@krt.dev -c commit.gpgsign=false -C "$dir/clone" "$@"; }
git clone --quiet "$git_url" "$dir/clone"
message="hello from make run at $(date +%H:%M:%S)"
sed -i "s/^      default: \"hello from krt\"$/      default: \"$message\"/" "$dir/clone/workflows/hello.yaml"
g diff --quiet && die "workflows/hello.yaml has no default message to change"
g commit --quiet -am "Say: $message"
g push --quiet origin main
sha=$(g rev-parse HEAD)
echo "pushed ${sha:0:7}: the hello workflow's message is now \"$message\""

# The push arrives as a webhook; the repository then applies the commit.
applied() { [[ "$("$krt" dev status --dir "$dir" 2>/dev/null)" == *"applied: "*"$sha"* ]]; }
for _ in $(seq 1 150); do
	applied && break
	sleep 0.2
done
applied || die "krt did not apply ${sha:0:7} within 30s"
echo "krt applied ${sha:0:7} after $(elapsed)"

# The trigger controller names a push's run <workflow>-push-<sha7>.
run="hello-push-${sha:0:7}"
for _ in $(seq 1 50); do
	"$krt" wf graph "$run" >/dev/null 2>&1 && break
	sleep 0.2
done
if ! "$krt" wf graph "$run" >/dev/null 2>&1; then
	echo "no run $run appeared within 10s (no on.push trigger in this krt-controller yet);"
	echo "starting the workflow by hand instead: krt wf trigger hello"
	run=$("$krt" wf trigger hello)
fi

say "waiting for WorkflowRun $run"
phase_of() {
	"$krt" wf graph "$run" -o json | python3 -c '
import json, sys
s = json.load(sys.stdin).get("status", {})
nodes = s.get("nodes", [])
done = sum(1 for n in nodes if n.get("phase") in ("Succeeded", "Failed", "Skipped", "Cancelled"))
print(s.get("phase", "Pending"), "%d/%d nodes done" % (done, len(nodes)))'
}
last=""
for _ in $(seq 1 300); do
	now=$(phase_of || echo "unknown")
	[ "$now" != "$last" ] && echo "$run: $now" && last=$now
	case "$now" in Succeeded* | Failed* | Cancelled*) break ;; esac
	sleep 0.2
done

say "krt wf graph $run -o wide"
"$krt" wf graph "$run" -o wide

# Each node's Run lives where its cluster is; krt wf logs reads each
# from there, through the Cluster's kubeconfig Secret.
say "krt wf logs $run"
"$krt" wf logs "$run" || echo "(see $dir/logs)"

final=${last%% *}
# The dev stack serves the web UI; the address signs in and opens the run.
ui_url="$(field uiURL)&next=/ns/default/runs/$run"
if [ -n "${KRT_RUN_KEEP:-}" ]; then
	say "the run in the web UI, until Ctrl-C stops the dev stack"
	echo "$ui_url"
	trap 'true' INT
	wait "$up_pid" 2>/dev/null || true
	trap 'exit 130' INT
else
	say "stopping the dev stack"
	"$krt" dev down --dir "$dir"
	wait "$up_pid" 2>/dev/null || true
fi
up_pid=""
[ "$final" = Succeeded ] || die "run $run ended $final"
ok=1
say "make run: $run succeeded; $(elapsed) in all"
echo "its page in the web UI was $ui_url"
echo "(KRT_RUN_KEEP=1 make run keeps the stack, and that page, up until Ctrl-C)"
