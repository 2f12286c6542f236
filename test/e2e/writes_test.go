package e2e

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/util/wait"

	krtv1 "krt.dev/krt/api/v1alpha1"
)

// TestRunWrites counts, with the API server's own request counters, the
// writes to Runs while Runs go through a pod of capacity 2. A Run that
// ends within runtimed's --claim-after (2s in this package) costs three: a create, the
// assignment and the result. One that outlasts it is claimed too, so
// that kubectl shows it Running: four. Runs that wait for a slot cost
// nothing more.
func TestRunWrites(t *testing.T) {
	for _, tc := range []struct {
		name, script string
		n, perRun    int
	}{
		{"short", "sleep 0.1", 10, 3},
		{"outlasts the claim bound", "sleep 3", 4, 4},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ns := setupRuntime(t, "writes", 1, 2)
			// The counters are the whole server's: wait until no other Run
			// is moving, so that every write counted is one of ours.
			waitStill(t)
			before := runWrites(t)
			runs := make([]*krtv1.Run, tc.n)
			for i := range runs {
				runs[i] = newRun(t, ns, krtv1.RunSpec{Runtime: "writes", Script: tc.script})
			}
			for _, run := range runs {
				done := waitDone(t, run)
				if done.Status.Phase != krtv1.RunSucceeded {
					t.Fatalf("run %s: %s (%s)", run.Name, done.Status.Phase, done.Status.Message)
				}
				if done.Status.StartTime == nil || done.Status.CompletionTime == nil {
					t.Fatalf("run %s ended without its startTime and completionTime: %+v", run.Name, done.Status)
				}
				checkManagers(t, done)
			}
			got := map[string]float64{}
			for k, v := range runWrites(t) {
				if d := v - before[k]; d != 0 {
					got[k] = d
				}
			}
			n := float64(tc.n)
			want := map[string]float64{"create": n, "update status": float64(tc.perRun-1) * n}
			t.Logf("writes to Runs for %d Runs: %v", tc.n, got)
			if len(got) != len(want) || got["create"] != want["create"] || got["update status"] != want["update status"] {
				t.Fatalf("writes to Runs for %d Runs = %v, want %v: %d a Run", tc.n, got, want, tc.perRun)
			}
		})
	}
}

// checkManagers: the scheduler's and runtimed's status writes share one
// field manager, so a Run's managed fields, which the API server decodes
// and re-encodes on every write, hold two entries: its creator's and
// krt's.
func checkManagers(t *testing.T, run *krtv1.Run) {
	t.Helper()
	var got []string
	status := 0
	for _, m := range run.ManagedFields {
		got = append(got, m.Manager+" "+m.Subresource)
		if m.Manager == krtv1.RunStatusFieldManager && m.Subresource == "status" {
			status++
		}
	}
	if len(got) != 2 || status != 1 {
		t.Fatalf("run %s's field managers are %q, want its creator's and %q on status", run.Name, got, krtv1.RunStatusFieldManager)
	}
}

// waitStill waits until every Run in the cluster is finished, or Pending
// with the reason it waits already recorded: such Runs cost no more writes
// until something changes.
func waitStill(t *testing.T) {
	t.Helper()
	var moving []string
	err := wait.PollUntilContextTimeout(context.Background(), 100*time.Millisecond, 2*time.Minute, true, func(ctx context.Context) (bool, error) {
		list := &krtv1.RunList{}
		if err := env.Client.List(ctx, list); err != nil {
			return false, nil
		}
		moving = nil
		for _, r := range list.Items {
			parked := r.Pending() && apimeta.IsStatusConditionFalse(r.Status.Conditions, krtv1.ConditionScheduled)
			if !r.Status.Phase.Terminal() && !parked {
				moving = append(moving, fmt.Sprintf("%s/%s (%s)", r.Namespace, r.Name, r.Status.Phase))
			}
		}
		return len(moving) == 0, nil
	})
	if err != nil {
		t.Fatalf("timed out after 2m waiting for other tests' Runs to finish or park; still moving: %v", moving)
	}
}

// runWrites reads the API server's count of requests that wrote Runs, by
// verb and subresource ("create", "update status"), with any response code:
// a refused write still costs the server.
func runWrites(t *testing.T) map[string]float64 {
	t.Helper()
	raw, err := env.RawClient().Get().AbsPath("/metrics").DoRaw(context.Background())
	if err != nil {
		t.Fatalf("reading the API server's metrics: %v", err)
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(strings.NewReader(string(raw)))
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]float64{}
	for _, m := range families["apiserver_request_total"].GetMetric() {
		l := map[string]string{}
		for _, p := range m.GetLabel() {
			l[p.GetName()] = p.GetValue()
		}
		if l["group"] != "krt.dev" || l["resource"] != "runs" {
			continue
		}
		verb := map[string]string{"POST": "create", "PUT": "update", "PATCH": "patch", "APPLY": "apply"}[l["verb"]]
		if verb == "" {
			continue // reads, and deletes: TTLs of earlier tests' Runs
		}
		if l["subresource"] != "" {
			verb += " " + l["subresource"]
		}
		out[verb] += m.GetCounter().GetValue()
	}
	return out
}
