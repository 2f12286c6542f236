package e2e

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"sigs.k8s.io/controller-runtime/pkg/client"

	krtv1 "krt.dev/krt/api/v1alpha1"
)

// capacityScript marks itself running, records how many Runs were running
// then (in all and on its pod), and holds its slot until $GATE exists.
const capacityScript = `mkdir "$REC/running/$KRT_POD.$ID"
names=$(ls "$REC/running")
echo "$(echo "$names" | wc -l) $(echo "$names" | grep -c "^$KRT_POD\.")" > "$REC/seen.$ID"
while [ ! -e "$GATE" ]; do sleep 0.05; done
rmdir "$REC/running/$KRT_POD.$ID"`

// TestCapacityIsUsedAndNeverExceeded proves from the Runs' own records,
// not from status, that 2 pods of capacity 3 run 6 Runs at once, and never
// more than 3 on a pod. The first Runs hold their slots until the test has
// seen 6 of them running, so filling the capacity takes no luck in timing.
func TestCapacityIsUsedAndNeverExceeded(t *testing.T) {
	ns := setupRuntime(t, "cap", 2, 3)
	rec := t.TempDir()
	if err := os.Mkdir(filepath.Join(rec, "running"), 0o700); err != nil {
		t.Fatal(err)
	}
	gate := filepath.Join(rec, "gate")
	const n, slots, perPod = 12, 6, 3
	runs := make([]*krtv1.Run, n)
	for i := range runs {
		runs[i] = newRun(t, ns, krtv1.RunSpec{Runtime: "cap", Script: capacityScript,
			Env: []krtv1.EnvVar{{Name: "REC", Value: rec}, {Name: "ID", Value: strconv.Itoa(i)}, {Name: "GATE", Value: gate}}})
	}
	eventually(t, 2*time.Minute, "6 Runs to run at once", func() bool {
		seen, _ := filepath.Glob(filepath.Join(rec, "seen.*"))
		return len(seen) >= slots
	})
	// With every slot held, the rest must wait, unassigned.
	list := &krtv1.RunList{}
	if err := env.Client.List(context.Background(), list, client.InNamespace(ns)); err != nil {
		t.Fatal(err)
	}
	holding := map[string]int{}
	pending := 0
	for _, r := range list.Items {
		switch {
		case r.Status.Phase.HoldsCapacity():
			holding[r.Status.AssignedPod]++
		case r.Pending():
			pending++
		}
	}
	for pod, k := range holding {
		if k != perPod {
			t.Errorf("pod %s holds %d Runs while its %d slots are full, want %d", pod, k, perPod, perPod)
		}
	}
	if len(holding) != 2 || pending != n-slots {
		t.Errorf("with every slot held: %v hold a slot and %d are Pending, want 3 on each of 2 pods and %d Pending", holding, pending, n-slots)
	}
	if err := os.WriteFile(gate, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, run := range runs {
		if done := waitDone(t, run); done.Status.Phase != krtv1.RunSucceeded {
			t.Fatalf("run %s: %s (%s)", run.Name, done.Status.Phase, done.Status.Message)
		}
	}
	total, onPod := peakSeen(t, rec, n)
	t.Logf("peak: %d Runs at once, %d on one pod", total, onPod)
	if total != slots || onPod != perPod {
		t.Fatalf("the Runs saw up to %d running at once and %d on one pod; the runtime has 2 pods of %d slots", total, onPod, perPod)
	}
}

// peakSeen is the most Runs any Run saw running when it started, in all and
// on its own pod.
func peakSeen(t *testing.T, dir string, n int) (total, onPod int) {
	t.Helper()
	for i := range n {
		data, err := os.ReadFile(filepath.Join(dir, fmt.Sprintf("seen.%d", i)))
		if err != nil {
			t.Fatalf("run %d left no record: %v", i, err)
		}
		var all, pod int
		if _, err := fmt.Sscan(strings.TrimSpace(string(data)), &all, &pod); err != nil {
			t.Fatalf("run %d's record %q: %v", i, data, err)
		}
		total, onPod = max(total, all), max(onPod, pod)
	}
	return total, onPod
}
