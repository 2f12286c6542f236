package e2e

import (
	"context"
	"testing"
	"time"

	"sigs.k8s.io/controller-runtime/pkg/client"

	krtv1 "krt.dev/krt/api/v1alpha1"
)

// The README: `krt run --wait` exits "130 when cancelled". A user waits on
// a long Run in one terminal and cancels it from another with `krt cancel`.
func TestCLIRunWaitExits130WhenCancelled(t *testing.T) {
	ns := setupRuntime(t, "bash", 1, 2)
	bg := startKrt(t, "run", "-n", ns, "--wait", "--", "sleep 300")
	run := waitPhase(t, &krtv1.Run{ObjectMeta: objectMeta(ns, onlyCLIRun(t, ns))}, krtv1.RunRunning)
	assertHas(t, "krt cancel", mustKrt(t, "cancel", "-n", ns, run.Name), "run.krt.dev/"+run.Name+" cancel requested")
	if code := bg.wait(t); code != 130 {
		t.Errorf("krt run --wait exited %d, want 130 for a cancelled Run\nstderr: %s", code, bg.err.String())
	}
	assertHas(t, "krt run --wait's progress", bg.err.String(), "Running on ", "] Cancelled: ")
}

// onlyCLIRun is the name of the one Run in ns, which a background
// `krt run` created.
func onlyCLIRun(t *testing.T, ns string) string {
	t.Helper()
	name := ""
	eventually(t, time.Minute, "the Run of krt run to exist", func() bool {
		list := &krtv1.RunList{}
		if env.Client.List(context.Background(), list, client.InNamespace(ns)) != nil || len(list.Items) != 1 {
			return false
		}
		name = list.Items[0].Name
		return true
	})
	return name
}
