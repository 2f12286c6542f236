package security

import (
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	krtv1 "krt.dev/krt/api/v1alpha1"
)

// A Run leaves a setsid daemon and files behind: in its home, in /tmp, at
// the root of the pod's shared volume, and in a directory it made
// unreadable. Under exclusive and ephemeral isolation the next Run finds
// none of it. shared is the trusted mode, and the test shows what that
// means: the next Run finds all of it.
func TestIsolationNextRunFindsNoLeftovers(t *testing.T) {
	for _, tc := range []struct {
		mode      krtv1.Isolation
		leftovers bool // shared: what one Run leaves, the next finds
		replaced  bool // ephemeral: the next Run is on a fresh pod
	}{
		{mode: krtv1.IsolationShared, leftovers: true},
		{mode: krtv1.IsolationExclusive},
		{mode: krtv1.IsolationEphemeral, replaced: true},
	} {
		t.Run(string(tc.mode), func(t *testing.T) {
			ns := env.Namespace(t)
			startRuntime(t, ns, "iso", 1, func(rt *krtv1.Runtime) { rt.Spec.Isolation = tc.mode })
			planter := succeeded(t, ns, createRun(t, ns, "planter", "iso", plantScript, nil, nil).Name)
			out := planter.Status.Outputs
			pid, err := strconv.Atoi(out["daemon_pid"])
			if err != nil {
				t.Fatalf("the planter's daemon pid %q: %v", out["daemon_pid"], err)
			}
			t.Cleanup(func() { _ = syscall.Kill(pid, syscall.SIGKILL) })

			vars := map[string]string{"DAEMON_PID": out["daemon_pid"], "PLANTED": out["planted"]}
			finder := succeeded(t, ns, createRun(t, ns, "finder", "iso", findScript, vars, nil).Name)
			got := finder.Status.Outputs
			want := map[string]string{"daemon_alive": "0", "files_found": "0"}
			if tc.leftovers {
				want = map[string]string{"daemon_alive": "1", "files_found": "4"}
			}
			for k, v := range want {
				if got[k] != v {
					t.Errorf("%s: the next Run found %s=%s, want %s (outputs %v)", tc.mode, k, got[k], v, got)
				}
			}
			alive := !errors.Is(syscall.Kill(pid, 0), syscall.ESRCH)
			if alive != tc.leftovers {
				t.Errorf("%s: the daemon (pid %d) alive = %v after the Run, want %v", tc.mode, pid, alive, tc.leftovers)
			}
			if moved := finder.Status.AssignedPod != planter.Status.AssignedPod; moved != tc.replaced {
				t.Errorf("%s: the planter ran on %s and the finder on %s; want a fresh pod = %v",
					tc.mode, planter.Status.AssignedPod, finder.Status.AssignedPod, tc.replaced)
			}
			if tc.replaced {
				eventually(t, time.Minute, "the spent pod to be replaced", func() bool {
					pods := pool.Pods(ns, "iso")
					return len(pods) == 1 && pods[0].Name != planter.Status.AssignedPod
				})
			}
		})
	}
}

// plantScript leaves a daemon in its own session and files wherever a
// step may write, one in a directory it then makes unreadable.
const plantScript = `setsid bash -c 'echo $$ > "$1"; exec sleep 300' _ "$HOME/daemon.pid" </dev/null >/dev/null 2>&1 &
for i in $(seq 100); do [ -s "$HOME/daemon.pid" ] && break; sleep 0.05; done
echo "daemon_pid=$(cat "$HOME/daemon.pid")" >> "$KRT_OUTPUTS"
echo planted > "$HOME/planted"
echo planted > "${TMPDIR:-/tmp}/planted"
echo planted > "$HOME/../planted"
mkdir -p "$HOME/locked/in"; echo planted > "$HOME/locked/in/planted"; chmod 0 "$HOME/locked"
echo "planted=$HOME/planted:${TMPDIR:-/tmp}/planted:$HOME/../planted:$HOME/locked" >> "$KRT_OUTPUTS"`

// findScript looks for the planter's daemon and files.
const findScript = `alive=0
if [ -r "/proc/$DAEMON_PID/cmdline" ] && tr '\0' ' ' < "/proc/$DAEMON_PID/cmdline" | grep -q 'sleep 300'; then alive=1; fi
echo "daemon_alive=$alive" >> "$KRT_OUTPUTS"
n=0
IFS=: read -ra files <<< "$PLANTED"
for f in "${files[@]}"; do [ -e "$f" ] && n=$((n+1)); done
echo "files_found=$n" >> "$KRT_OUTPUTS"`

// A Run holds a secret in its environment; another Run, created while
// the first still runs, scans every process's environment for it. Under
// exclusive and ephemeral isolation the second Run cannot run beside the
// first on its pod, and once it runs the first one's processes are gone.
// shared is the trusted mode: the second Run reads the secret.
//
// Across pods, a cluster keeps Runs apart by the pods' own PID
// namespaces; the local pool runs every pod's processes on one host, so
// this test keeps to one pod, where isolation is krt's doing.
func TestIsolationConcurrentRunCannotReadEnvironment(t *testing.T) {
	for _, tc := range []struct {
		mode  krtv1.Isolation
		reads bool
	}{
		{mode: krtv1.IsolationShared, reads: true},
		{mode: krtv1.IsolationExclusive},
		{mode: krtv1.IsolationEphemeral},
	} {
		t.Run(string(tc.mode), func(t *testing.T) {
			ns := env.Namespace(t)
			startRuntime(t, ns, "iso", 1, func(rt *krtv1.Runtime) { rt.Spec.Isolation = tc.mode })
			secret := randomText(t, 32)
			vars := map[string]string{"VICTIM_SECRET": secret}
			// Where the spy may read the victim, the victim runs until the
			// spy is done, so a slow machine cannot end it first; elsewhere
			// the spy cannot start beside it, and it ends after 3 s.
			gate := ""
			if tc.reads {
				gate = filepath.Join(t.TempDir(), "go-on")
				vars["GATE"] = gate
			}
			createRun(t, ns, "victim", "iso", victimScript, vars, nil)
			eventually(t, time.Minute, "the victim to run", func() bool {
				return getRun(t, ns, "victim").Status.Phase == krtv1.RunRunning
			})
			spy := succeeded(t, ns, createRun(t, ns, "spy", "iso", spyScript, nil, nil).Name)
			if gate != "" {
				if err := os.WriteFile(gate, nil, 0o600); err != nil {
					t.Fatal(err)
				}
			}
			victim := succeeded(t, ns, "victim")
			found := spy.Status.Outputs["found"]
			if (found != "0") != tc.reads {
				t.Errorf("%s: the spy found the victim's environment in %s processes; want it readable = %v", tc.mode, found, tc.reads)
			}
			if !tc.reads && spy.Status.StartTime.Before(victim.Status.CompletionTime) {
				t.Errorf("%s: the spy started at %s, before the victim ended at %s", tc.mode, spy.Status.StartTime, victim.Status.CompletionTime)
			}
		})
	}
}

// victimScript waits for $GATE (at most a minute) when it is set, and
// otherwise for 3 s.
const victimScript = `if [ -z "$GATE" ]; then sleep 3; exit 0; fi
for i in $(seq 1200); do [ -e "$GATE" ] && break; sleep 0.05; done`

const spyScript = `found=0
for e in /proc/[0-9]*/environ; do
  if tr '\0' '\n' < "$e" 2>/dev/null | grep -q '^VICTIM_SECRET='; then found=$((found+1)); fi
done
echo "found=$found" >> "$KRT_OUTPUTS"`
