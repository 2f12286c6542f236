package e2e

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	krtv1 "krt.dev/krt/api/v1alpha1"
	"krt.dev/krt/runtimed/heartbeat"
	"krt.dev/krt/runtimed/localpool"
)

// setupRuntime creates a namespace and a Runtime in it, and waits until the
// local pool's pods are Ready and heartbeating.
func setupRuntime(t *testing.T, name string, replicas, capacity int32, mods ...func(*krtv1.Runtime)) string {
	t.Helper()
	ns := env.Namespace(t)
	createRuntime(t, ns, name, replicas, capacity, mods...)
	return ns
}

// createRuntime creates a Runtime in ns and waits for its pods.
func createRuntime(t *testing.T, ns, name string, replicas, capacity int32, mods ...func(*krtv1.Runtime)) {
	t.Helper()
	rt := &krtv1.Runtime{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
		Spec:       krtv1.RuntimeSpec{Replicas: ptr.To(replicas), Capacity: capacity},
	}
	for _, m := range mods {
		m(rt)
	}
	if err := env.Client.Create(context.Background(), rt); err != nil {
		t.Fatalf("creating runtime: %v", err)
	}
	waitPods(t, ns, name, replicas)
}

// waitPods waits until a runtime has n pods, each Ready and heartbeating.
func waitPods(t *testing.T, ns, name string, n int32) {
	t.Helper()
	eventually(t, 2*time.Minute, "the runtime's pods to be ready and heartbeating", func() bool {
		pods := pool.Pods(ns, name)
		if len(pods) != int(n) {
			return false
		}
		for _, p := range pods {
			lease := &coordinationv1.Lease{}
			if p.RuntimedPID == 0 || env.Client.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: p.Name}, lease) != nil ||
				!heartbeat.Fresh(lease, p.UID, time.Now()) {
				return false
			}
		}
		return true
	})
}

func podsOf(ns, runtime string) []localpool.PodInfo { return pool.Pods(ns, runtime) }

// eventually polls until cond holds, failing the test after timeout.
func eventually(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	err := wait.PollUntilContextTimeout(context.Background(), 50*time.Millisecond, timeout, true,
		func(context.Context) (bool, error) { return cond(), nil })
	if err != nil {
		t.Fatalf("timed out after %s waiting for %s", timeout, what)
	}
}

func objectMeta(ns, name string) metav1.ObjectMeta {
	return metav1.ObjectMeta{Namespace: ns, Name: name}
}

func newRun(t *testing.T, ns string, spec krtv1.RunSpec) *krtv1.Run {
	t.Helper()
	run := &krtv1.Run{ObjectMeta: metav1.ObjectMeta{GenerateName: "t-", Namespace: ns}, Spec: spec}
	if err := env.Client.Create(context.Background(), run); err != nil {
		t.Fatalf("creating run: %v", err)
	}
	return run
}

// waitRun watches a Run until cond holds.
func waitRun(t *testing.T, run *krtv1.Run, timeout time.Duration, what string, cond func(*krtv1.Run) bool) *krtv1.Run {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	c, err := client.NewWithWatch(env.Config, client.Options{Scheme: env.Scheme})
	if err != nil {
		t.Fatal(err)
	}
	cur := &krtv1.Run{}
	for {
		if err := c.Get(ctx, client.ObjectKeyFromObject(run), cur); err != nil {
			t.Fatalf("waiting for run %s to %s: %v", run.Name, what, err)
		}
		if cond(cur) {
			return cur
		}
		w, err := c.Watch(ctx, &krtv1.RunList{}, client.InNamespace(run.Namespace),
			client.MatchingFields{"metadata.name": run.Name}, &client.ListOptions{Raw: &metav1.ListOptions{ResourceVersion: cur.ResourceVersion}})
		if err != nil {
			t.Fatalf("watching run %s: %v", run.Name, err)
		}
		for ev := range w.ResultChan() {
			if r, ok := ev.Object.(*krtv1.Run); ok && ev.Type != watch.Deleted && cond(r) {
				w.Stop()
				return r
			}
		}
		if ctx.Err() != nil {
			t.Fatalf("timed out after %s waiting for run %s to %s; it is %s: %s%s", timeout, run.Name, what,
				cur.Status.Phase, cur.Status.Message, stack.ControllerState())
		}
	}
}

func waitDone(t *testing.T, run *krtv1.Run) *krtv1.Run {
	t.Helper()
	return waitRun(t, run, 2*time.Minute, "finish", func(r *krtv1.Run) bool { return r.Status.Phase.Terminal() })
}

func waitPhase(t *testing.T, run *krtv1.Run, phase krtv1.RunPhase) *krtv1.Run {
	t.Helper()
	return waitRun(t, run, 2*time.Minute, "be "+string(phase), func(r *krtv1.Run) bool { return r.Status.Phase == phase })
}

// krt runs the real CLI against the test API server.
func krt(t *testing.T, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	cmd := exec.Command(bins.Krt, args...)
	cmd.Env = append(os.Environ(), "KUBECONFIG="+env.Kubeconfig)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		code = ee.ExitCode()
	case err != nil:
		t.Fatalf("krt %s: %v", strings.Join(args, " "), err)
	}
	return out.String(), errOut.String(), code
}
