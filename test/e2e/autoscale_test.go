package e2e

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	krtv1 "krt.dev/krt/api/v1alpha1"
	runtimectl "krt.dev/krt/controllers/runtime"
)

// ledgerScript records each execution of a Run, so that a Run executed
// twice (cut off by a scale-down and retried) shows as two lines.
const ledgerScript = `echo "$KRT_POD" >> "$REC/ran.$ID"; sleep "$NAP"`

// A burst of 200 Runs on a Runtime that starts from zero pods grows it,
// every Run succeeds and executes exactly once, and the pool shrinks back
// to zero once idle. The last few Runs are long, so the pool shrinks while
// they run, on pods it must drain: were one removed mid-Run, its Run would
// fail or run twice.
func TestAutoscaleBurstFromZeroAndBack(t *testing.T) {
	ns := env.Namespace(t)
	ctx := context.Background()
	rt := &krtv1.Runtime{ObjectMeta: objectMeta(ns, "auto"), Spec: krtv1.RuntimeSpec{Capacity: 4, Languages: []krtv1.Language{krtv1.LanguageBash},
		Autoscaling: &krtv1.RuntimeAutoscaling{MinReplicas: 0, MaxReplicas: 8}}}
	if err := env.Client.Create(ctx, rt); err != nil {
		t.Fatal(err)
	}
	eventually(t, 30*time.Second, "an idle autoscaled Runtime with no pods to say so", func() bool {
		cur := &krtv1.Runtime{}
		return env.Client.Get(ctx, client.ObjectKeyFromObject(rt), cur) == nil && cur.Status.ObservedGeneration == cur.Generation &&
			cur.Status.DesiredReplicas == 0 && cur.Status.Selector != ""
	})
	if pods := podsOf(ns, "auto"); len(pods) != 0 {
		t.Fatalf("an idle Runtime with minReplicas 0 runs %d pods", len(pods))
	}

	rec := t.TempDir()
	const n, long = 200, 5 // the last 5 Runs are long
	start := time.Now()
	firstPod := make(chan time.Duration, 1)
	go func() {
		for time.Since(start) < time.Minute {
			if len(podsOf(ns, "auto")) > 0 {
				firstPod <- time.Since(start)
				return
			}
			time.Sleep(20 * time.Millisecond)
		}
	}()
	for i := range n {
		nap := "0.2"
		if i >= n-long {
			nap = "10"
		}
		newRun(t, ns, krtv1.RunSpec{Runtime: "auto", Script: ledgerScript,
			Env: []krtv1.EnvVar{{Name: "REC", Value: rec}, {Name: "ID", Value: strconv.Itoa(i)}, {Name: "NAP", Value: nap}}})
	}
	select {
	case d := <-firstPod:
		t.Logf("a first pod ran %s after the first Run was created", d.Round(time.Millisecond))
	case <-time.After(time.Minute):
		t.Fatalf("no pod a minute after 200 Runs were created%s", stack.ControllerState())
	}

	peak, sawDrainingBusy := 0, false
	eventually(t, 4*time.Minute, "all 200 Runs to finish", func() bool {
		peak = max(peak, len(podsOf(ns, "auto")))
		sawDrainingBusy = sawDrainingBusy || drainingPodHoldsRun(t, ns)
		list := &krtv1.RunList{}
		if err := env.Client.List(ctx, list, client.InNamespace(ns)); err != nil {
			t.Fatal(err)
		}
		done := 0
		for _, r := range list.Items {
			if r.Status.Phase.Terminal() {
				done++
			}
		}
		return done == n
	})
	t.Logf("200 Runs done after %s on up to %d pods", time.Since(start).Round(time.Millisecond), peak)
	if peak < 2 || peak > 8 {
		t.Errorf("the pool peaked at %d pods; 200 Runs of 4 slots a pod want maxReplicas, 8", peak)
	}

	list := &krtv1.RunList{}
	if err := env.Client.List(ctx, list, client.InNamespace(ns)); err != nil {
		t.Fatal(err)
	}
	// The pool shrinks to the fewest pods the long Runs fit in while they
	// run, so it must drain a busy pod exactly when they landed on more
	// pods than that. Where they landed is the scheduler's choice under
	// the machine's load: packed, there is no busy pod to drain.
	longPods := map[types.UID]bool{}
	for _, r := range list.Items {
		if i, _ := strconv.Atoi(envOf(r.Spec.Env, "ID")); i >= n-long {
			longPods[r.Status.AssignedPodUID] = true
		}
	}
	fewest := (long + int(rt.PodCapacity()) - 1) / int(rt.PodCapacity())
	t.Logf("the %d long Runs ran on %d pods; the pool could shrink to %d under them", long, len(longPods), fewest)
	if len(longPods) > fewest && !sawDrainingBusy {
		t.Errorf("the long Runs ran on %d pods, more than the %d they fit in, yet no draining pod was seen holding one: the pool did not shrink under them, or removed a busy pod", len(longPods), fewest)
	}
	for _, r := range list.Items {
		if r.Status.Phase != krtv1.RunSucceeded || r.Status.Attempt != 1 {
			t.Errorf("run %s: %s at attempt %d (%s: %s)", r.Name, r.Status.Phase, r.Status.Attempt, r.Status.Reason, r.Status.Message)
		}
	}
	// The ledger counts executions: each Run exactly once.
	for i := range n {
		data, err := os.ReadFile(filepath.Join(rec, "ran."+strconv.Itoa(i)))
		if err != nil {
			t.Errorf("run %d never executed: %v", i, err)
			continue
		}
		if lines := strings.Count(string(data), "\n"); lines != 1 {
			t.Errorf("run %d executed %d times, on %q", i, lines, strings.Fields(string(data)))
		}
	}

	eventually(t, time.Minute, "the idle pool to return to zero pods", func() bool {
		cur := &krtv1.Runtime{}
		d := &appsv1.Deployment{}
		return len(podsOf(ns, "auto")) == 0 &&
			env.Client.Get(ctx, client.ObjectKeyFromObject(rt), cur) == nil && cur.Status.Replicas == 0 && cur.Status.DesiredReplicas == 0 &&
			env.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: runtimectl.Name(rt)}, d) == nil && *d.Spec.Replicas == 0
	})
	t.Logf("back to zero after %s", time.Since(start).Round(time.Millisecond))
}

// drainingPodHoldsRun says whether some draining pod of the namespace
// still holds a Run right now: the case a scale-down must wait for.
func drainingPodHoldsRun(t *testing.T, ns string) bool {
	t.Helper()
	runs := &krtv1.RunList{}
	if err := env.Client.List(context.Background(), runs, client.InNamespace(ns)); err != nil {
		t.Fatal(err)
	}
	for _, p := range podsOf(ns, "auto") {
		pod := &corev1.Pod{}
		if env.Client.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: p.Name}, pod) != nil ||
			pod.Annotations[krtv1.AnnotationDraining] == "" {
			continue
		}
		for _, r := range runs.Items {
			if r.Status.AssignedPodUID == p.UID && r.Status.Phase.HoldsCapacity() {
				return true
			}
		}
	}
	return false
}

// `kubectl scale runtime` resizes a Runtime without autoscaling through
// its scale subresource, both ways; on an autoscaled Runtime, krt owns
// the count and the API server refuses it, naming the rule.
func TestKubectlScaleRuntime(t *testing.T) {
	ns := setupRuntime(t, "fixed", 1, 2)
	kubectl := func(args ...string) (string, error) { return runKubectl(t, append(args, "-n", ns)...) }
	if out, err := kubectl("scale", "runtime", "fixed", "--replicas", "3"); err != nil {
		t.Fatalf("kubectl scale runtime fixed --replicas 3: %v\n%s", err, out)
	}
	waitPods(t, ns, "fixed", 3)
	eventually(t, 30*time.Second, "the scale subresource to report 3 pods", func() bool {
		out, err := kubectl("get", "runtime", "fixed", "--subresource", "scale", "-o", "jsonpath={.spec.replicas}/{.status.replicas}/{.status.selector}")
		return err == nil && out == "3/3/krt.dev/runtime=fixed"
	})
	if out, err := kubectl("scale", "runtime", "fixed", "--replicas", "1"); err != nil {
		t.Fatalf("kubectl scale runtime fixed --replicas 1: %v\n%s", err, out)
	}
	waitPods(t, ns, "fixed", 1)

	// Scaled to zero with a Run on its last pod, the pool drains that
	// pod: the Run ends where it started, once, and then the pod goes.
	rec := t.TempDir()
	run := newRun(t, ns, krtv1.RunSpec{Runtime: "fixed", Script: ledgerScript,
		Env: []krtv1.EnvVar{{Name: "REC", Value: rec}, {Name: "ID", Value: "0"}, {Name: "NAP", Value: "3"}}})
	waitPhase(t, run, krtv1.RunRunning)
	if out, err := kubectl("scale", "runtime", "fixed", "--replicas", "0"); err != nil {
		t.Fatalf("kubectl scale runtime fixed --replicas 0: %v\n%s", err, out)
	}
	eventually(t, 30*time.Second, "the busy pod to be draining", func() bool {
		cur := &krtv1.Runtime{}
		return env.Client.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: "fixed"}, cur) == nil && cur.Status.Draining == 1
	})
	if pods := podsOf(ns, "fixed"); len(pods) != 1 {
		t.Fatalf("a pool scaled to zero with a Run running has %d pods, want its busy pod kept until the Run ends", len(pods))
	}
	if done := waitDone(t, run); done.Status.Phase != krtv1.RunSucceeded || done.Status.Attempt != 1 {
		t.Fatalf("the Run on the draining pod: %s at attempt %d (%s)", done.Status.Phase, done.Status.Attempt, done.Status.Message)
	}
	if data, _ := os.ReadFile(filepath.Join(rec, "ran.0")); strings.Count(string(data), "\n") != 1 {
		t.Fatalf("the Run on the draining pod executed %q, want once", data)
	}
	waitPods(t, ns, "fixed", 0)

	auto := &krtv1.Runtime{ObjectMeta: objectMeta(ns, "auto"), Spec: krtv1.RuntimeSpec{Capacity: 1,
		Autoscaling: &krtv1.RuntimeAutoscaling{MaxReplicas: 2}}}
	if err := env.Client.Create(context.Background(), auto); err != nil {
		t.Fatal(err)
	}
	out, err := kubectl("scale", "runtime", "auto", "--replicas", "5")
	if err == nil || !strings.Contains(out, "spec.replicas and spec.autoscaling are exclusive") {
		t.Fatalf("kubectl scale on an autoscaled Runtime: want the API server's refusal naming the rule, got %v:\n%s", err, out)
	}
}

// An autoscaled ephemeral pool gives each Run a pod of its own, grows to
// serve a burst within maxReplicas, replaces spent pods while Runs wait,
// and returns to zero: a spent pod counts as a pod, never beyond the max.
func TestAutoscaleEphemeralPool(t *testing.T) {
	ns := env.Namespace(t)
	ctx := context.Background()
	rt := &krtv1.Runtime{ObjectMeta: objectMeta(ns, "once"), Spec: krtv1.RuntimeSpec{Capacity: 4, Languages: []krtv1.Language{krtv1.LanguageBash},
		Isolation: krtv1.IsolationEphemeral, Autoscaling: &krtv1.RuntimeAutoscaling{MaxReplicas: 3}}}
	if err := env.Client.Create(ctx, rt); err != nil {
		t.Fatal(err)
	}
	rec := t.TempDir()
	const n = 8
	for i := range n {
		newRun(t, ns, krtv1.RunSpec{Runtime: "once", Script: ledgerScript,
			Env: []krtv1.EnvVar{{Name: "REC", Value: rec}, {Name: "ID", Value: strconv.Itoa(i)}, {Name: "NAP", Value: "0.3"}}})
	}
	peak := 0
	eventually(t, 3*time.Minute, "8 Runs on one-Run pods to finish", func() bool {
		peak = max(peak, len(podsOf(ns, "once")))
		list := &krtv1.RunList{}
		if err := env.Client.List(ctx, list, client.InNamespace(ns)); err != nil {
			t.Fatal(err)
		}
		done := 0
		for _, r := range list.Items {
			if r.Status.Phase.Terminal() {
				done++
			}
		}
		return done == n
	})
	if peak > 3 {
		t.Errorf("the pool ran %d pods at once; maxReplicas is 3", peak)
	}
	pods := map[string]bool{}
	for i := range n {
		data, err := os.ReadFile(filepath.Join(rec, "ran."+strconv.Itoa(i)))
		if err != nil || strings.Count(string(data), "\n") != 1 {
			t.Fatalf("run %d: executed %q (%v), want once", i, data, err)
		}
		pods[strings.TrimSpace(string(data))] = true
	}
	if len(pods) != n {
		t.Errorf("%d Runs ran on %d pods; an ephemeral pod takes one Run", n, len(pods))
	}
	eventually(t, time.Minute, "the idle ephemeral pool to return to zero pods", func() bool { return len(podsOf(ns, "once")) == 0 })
}

// Autoscaling bounds that make no sense, or a fixed count beside them,
// are refused when the Runtime is written, with a message naming the field.
func TestAutoscalingIsCheckedAtAdmission(t *testing.T) {
	ns := env.Namespace(t)
	for _, tc := range []struct {
		name string
		mod  func(*krtv1.RuntimeSpec)
		want string
	}{
		{name: "min-above-max", mod: func(s *krtv1.RuntimeSpec) {
			s.Autoscaling = &krtv1.RuntimeAutoscaling{MinReplicas: 4, MaxReplicas: 2}
		}, want: "spec.autoscaling.minReplicas must not be more than spec.autoscaling.maxReplicas"},
		{name: "with-replicas", mod: func(s *krtv1.RuntimeSpec) {
			s.Replicas = ptr.To[int32](3)
			s.Autoscaling = &krtv1.RuntimeAutoscaling{MaxReplicas: 2}
		}, want: "spec.replicas and spec.autoscaling are exclusive"},
		{name: "no-max", mod: func(s *krtv1.RuntimeSpec) {
			s.Autoscaling = &krtv1.RuntimeAutoscaling{}
		}, want: "spec.autoscaling.maxReplicas"},
		{name: "utilisation-over-100", mod: func(s *krtv1.RuntimeSpec) {
			s.Autoscaling = &krtv1.RuntimeAutoscaling{MaxReplicas: 2, TargetUtilization: ptr.To[int32](150)}
		}, want: "spec.autoscaling.targetUtilization"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rt := &krtv1.Runtime{ObjectMeta: objectMeta(ns, tc.name), Spec: krtv1.RuntimeSpec{Capacity: 1}}
			tc.mod(&rt.Spec)
			err := env.Client.Create(context.Background(), rt)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("creating a Runtime with %s: want a refusal naming %q, got %v", tc.name, tc.want, err)
			}
		})
	}
}

// Whoever may scale a Runtime can ask for up to 1000 pods; the namespace's
// ResourceQuota is what holds it. Scaled far past its quota, the pool
// stops at the quota, says so in status (fewer pods than desired), and
// its Runs still run on the pods it has.
func TestResourceQuotaBoundsAScaledPool(t *testing.T) {
	ns := setupRuntime(t, "greedy", 1, 1)
	ctx := context.Background()
	quota := &corev1.ResourceQuota{ObjectMeta: objectMeta(ns, "pods"),
		Spec: corev1.ResourceQuotaSpec{Hard: corev1.ResourceList{corev1.ResourcePods: resource.MustParse("3")}}}
	if err := env.Client.Create(ctx, quota); err != nil {
		t.Fatal(err)
	}
	// No quota controller runs here: fill in what it would, the one pod
	// already there counted.
	quota.Status = corev1.ResourceQuotaStatus{Hard: quota.Spec.Hard, Used: corev1.ResourceList{corev1.ResourcePods: resource.MustParse("1")}}
	if err := env.Client.Status().Update(ctx, quota); err != nil {
		t.Fatal(err)
	}
	rt := &krtv1.Runtime{}
	if err := env.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: "greedy"}, rt); err != nil {
		t.Fatal(err)
	}
	orig := rt.DeepCopy()
	rt.Spec.Replicas = ptr.To[int32](50)
	if err := env.Client.Patch(ctx, rt, client.MergeFrom(orig)); err != nil {
		t.Fatal(err)
	}
	eventually(t, time.Minute, "the pool to reach its quota of 3 pods, and want 50", func() bool {
		cur := &krtv1.Runtime{}
		return env.Client.Get(ctx, client.ObjectKeyFromObject(rt), cur) == nil && cur.Status.DesiredReplicas == 50 &&
			cur.Status.Replicas == 3 && len(podsOf(ns, "greedy")) == 3
	})
	run := newRun(t, ns, krtv1.RunSpec{Runtime: "greedy", Script: "true"})
	if done := waitDone(t, run); done.Status.Phase != krtv1.RunSucceeded {
		t.Fatalf("a Run on a pool held at its quota: %s (%s)", done.Status.Phase, done.Status.Message)
	}
	// The pool keeps trying meanwhile; watch it not get past the quota.
	for end := time.Now().Add(time.Second); time.Now().Before(end); time.Sleep(50 * time.Millisecond) {
		if n := len(podsOf(ns, "greedy")); n != 3 {
			t.Fatalf("the pool has %d pods; its namespace's quota allows 3", n)
		}
	}
}

func envOf(vars []krtv1.EnvVar, name string) string {
	for _, e := range vars {
		if e.Name == name {
			return e.Value
		}
	}
	return ""
}
