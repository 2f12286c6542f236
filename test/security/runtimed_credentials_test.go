package security

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	krtv1 "krt.dev/krt/api/v1alpha1"
	"krt.dev/krt/runtimed/localpool"
)

// runtimedClient holds exactly what a step that stole runtimed's token
// would hold: the pod-bound token of the pod's ServiceAccount.
func runtimedClient(t *testing.T, pod localpool.PodInfo) client.Client {
	t.Helper()
	sa := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Namespace: pod.Namespace, Name: "krt-runtime-" + pod.Runtime}}
	tr := &authenticationv1.TokenRequest{Spec: authenticationv1.TokenRequestSpec{
		ExpirationSeconds: ptr.To(int64(600)),
		BoundObjectRef:    &authenticationv1.BoundObjectReference{Kind: "Pod", APIVersion: "v1", Name: pod.Name, UID: pod.UID},
	}}
	if err := env.Client.SubResource("token").Create(context.Background(), sa, tr); err != nil {
		t.Fatalf("a token for %s: %v", pod.Name, err)
	}
	cfg := rest.AnonymousClientConfig(env.Config)
	cfg.BearerToken = tr.Status.Token
	c, err := client.New(cfg, client.Options{Scheme: env.Scheme})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// A step holding runtimed's credentials tries to rewrite another pod's
// Run, and to pull a Run onto its own pod. Admission refuses both, and
// still lets runtimed write its own pod's Run.
func TestRuntimedTokenWritesOnlyItsOwnPodsRuns(t *testing.T) {
	ctx := context.Background()
	ns := env.Namespace(t)
	startRuntime(t, ns, "pool", 2)
	pods := pool.Pods(ns, "pool")
	thief, victim := pods[0], pods[1]
	// Runs for a Runtime with no pods stay Pending, so only this test
	// assigns them.
	startRuntime(t, ns, "idle", 0)
	newPending := func(name string) *krtv1.Run {
		run := &krtv1.Run{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
			Spec: krtv1.RunSpec{Runtime: "idle", Script: "echo deploy"}}
		if err := env.Client.Create(ctx, run); err != nil {
			t.Fatal(err)
		}
		return run
	}
	newPending("loose")
	assign(t, newPending("theirs"), victim.Name, victim.UID)
	assign(t, newPending("own"), thief.Name, thief.UID)
	stolen := runtimedClient(t, thief)

	cases := []struct {
		name, run, want string
		edit            func(*krtv1.Run)
	}{
		{"fake another pod's result", "theirs", "runtimed may only write Runs assigned to its own pod", func(r *krtv1.Run) {
			r.Status.Phase = krtv1.RunSucceeded
			r.Status.Outputs = map[string]string{"image": "evil"}
		}},
		{"assign a Pending Run to itself", "loose", "runtimed may only write Runs assigned to its own pod", func(r *krtv1.Run) {
			r.Status.Phase, r.Status.AssignedPod, r.Status.AssignedPodUID = krtv1.RunScheduled, thief.Name, thief.UID
		}},
		{"move its own Run to another pod", "own", "runtimed may not assign a Run", func(r *krtv1.Run) {
			r.Status.AssignedPod, r.Status.AssignedPodUID = victim.Name, victim.UID
		}},
		{"reset its own Run's attempt", "own", "runtimed may not assign a Run", func(r *krtv1.Run) {
			r.Status.Attempt = 7
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			run := getRun(t, ns, c.run)
			before := run.ResourceVersion
			c.edit(run)
			err := stolen.Status().Update(ctx, run)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("the update with runtimed's token gave %v; want a refusal saying %q", err, c.want)
			}
			if after := getRun(t, ns, c.run); after.ResourceVersion != before {
				t.Fatalf("run %s changed despite the refusal: %+v", c.run, after.Status)
			}
		})
	}
	// The control: the same token may still write its own pod's Run, so
	// the refusals above are the policy's, not a broken token's.
	run := getRun(t, ns, "own")
	run.Status.Message = "claimed by its own pod"
	if err := stolen.Status().Update(ctx, run); err != nil {
		t.Fatalf("runtimed could not write a Run assigned to its own pod: %v", err)
	}
}

// A Run of Runtime "secrets" is assigned to a pod of Runtime "plain", as
// a broken or hostile scheduler would. That pod's runtimed refuses it:
// the step never runs there, and the reaper hands the Run back.
func TestRuntimedRefusesAnotherRuntimesRun(t *testing.T) {
	ctx := context.Background()
	ns := env.Namespace(t)
	startRuntime(t, ns, "plain", 1)
	startRuntime(t, ns, "secrets", 0)
	pod := pool.Pods(ns, "plain")[0]
	marker := filepath.Join(t.TempDir(), "ran")
	run := &krtv1.Run{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "misrouted"},
		Spec: krtv1.RunSpec{Runtime: "secrets", Script: "touch " + marker}}
	if err := env.Client.Create(ctx, run); err != nil {
		t.Fatal(err)
	}
	assign(t, run, pod.Name, pod.UID)

	log := filepath.Join(pod.Dir, "runtimed.err")
	eventually(t, time.Minute, "runtimed to log that it refuses the Run", func() bool {
		data, _ := os.ReadFile(log)
		return strings.Contains(string(data), "refusing a Run of another Runtime") && strings.Contains(string(data), "misrouted")
	})
	// The control: the same runtimed still runs its own Runtime's Runs,
	// and it handled the misrouted one first.
	good := &krtv1.Run{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "routed"},
		Spec: krtv1.RunSpec{Runtime: "plain", Script: "echo fine"}}
	if err := env.Client.Create(ctx, good); err != nil {
		t.Fatal(err)
	}
	eventually(t, 2*time.Minute, "the plain Runtime's own Run to succeed", func() bool {
		return getRun(t, ns, "routed").Status.Phase == krtv1.RunSucceeded
	})
	// Still Scheduled, or Pending again if the reaper's claim timeout
	// passed meanwhile; never started.
	if r := getRun(t, ns, "misrouted"); r.Status.StartTime != nil || r.Status.Phase == krtv1.RunRunning || r.Status.Phase.Terminal() {
		t.Fatalf("the misrouted Run was claimed: %+v", r.Status)
	}
	if _, err := os.Stat(marker); err == nil {
		t.Fatalf("the misrouted step ran on a pod of another Runtime")
	}
}
