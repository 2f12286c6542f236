package security

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	krtv1 "krt.dev/krt/api/v1alpha1"
	"krt.dev/krt/sources/gitserver"
	"krt.dev/krt/sources/gitserver/gittest"
	"krt.dev/krt/workflows/runs"
)

// pushWorkflow runs on every push to main: one step computes an output
// from the push, the next reads it back and records what it saw.
const pushWorkflow = `apiVersion: krt.dev/v1alpha1
kind: Workflow
metadata:
  name: hello
spec:
  on:
    push:
      branches: [main]
  steps:
    - name: build
      runtime: bash
      env: {REVISION: "${{ event.revision }}"}
      run: echo "greeting=hello $REVISION" >> "$KRT_OUTPUTS"
      outputs: [greeting]
    - name: check
      needs: [build]
      runtime: bash
      run: |
        test -n "$GREETING"
        echo "seen=$GREETING" >> "$KRT_OUTPUTS"
      env:
        GREETING: "${{ steps.build.outputs.greeting }}"
      outputs: [seen]
`

// krt-controller runs here as its own ServiceAccount, under the
// ClusterRole controller-gen writes and the bindings config/ installs
// (main_test.go starts it so), not as the admin. A push to a repository
// served over real git drives every controller a user's workflow needs:
// the runtime controller makes a Runtime's pods, the source controller
// fetches and applies the Workflow, the trigger starts a run for the push,
// the workflow controller creates its Runs, the scheduler places them and
// the runtime pods run them. The run must succeed with the outputs its
// steps wrote, and the API server must have refused the controller
// nothing on the way: a rule missing from the ClusterRole fails here,
// naming the refusal.
func TestControllerRunsAWorkflowAsItsServiceAccount(t *testing.T) {
	ctx := context.Background()
	ns := env.Namespace(t)
	since := stack.Controller.LogSize()
	refusals := func() string { return stack.Controller.Refusals(since, 10) }

	rt := &krtv1.Runtime{
		ObjectMeta: metav1.ObjectMeta{Name: "bash", Namespace: ns},
		Spec:       krtv1.RuntimeSpec{Replicas: ptr.To[int32](1), Capacity: 2, Languages: []krtv1.Language{krtv1.LanguageBash}},
	}
	if err := env.Client.Create(ctx, rt); err != nil {
		t.Fatal(err)
	}
	waitUnrefused(t, since, 2*time.Minute, "the runtime's pod to be ready", func() (bool, string) {
		cur := &krtv1.Runtime{}
		if err := env.Client.Get(ctx, client.ObjectKeyFromObject(rt), cur); err != nil {
			return false, err.Error()
		}
		return cur.Status.ReadyPods >= 1, fmt.Sprintf("%d ready pods", cur.Status.ReadyPods)
	})

	served := gittest.Serve(t, gitserver.Options{}, "flows")
	clone := gittest.NewClone(t, served.URL)
	clone.Write(map[string]string{"workflows/hello.yaml": pushWorkflow})
	first := clone.Commit("the hello workflow")
	clone.Push("HEAD:refs/heads/main")
	repo := &krtv1.WorkflowRepository{
		ObjectMeta: metav1.ObjectMeta{Name: "flows", Namespace: ns},
		Spec: krtv1.WorkflowRepositorySpec{URL: served.URL, Ref: &krtv1.GitRef{Branch: "main"},
			Interval: metav1.Duration{Duration: time.Second}},
	}
	if err := env.Client.Create(ctx, repo); err != nil {
		t.Fatal(err)
	}
	// A push is a revision after the one the repository was first read
	// at, so wait for that one before pushing.
	waitUnrefused(t, since, time.Minute, "the repository to apply "+first[:7], func() (bool, string) {
		cur := &krtv1.WorkflowRepository{}
		if err := env.Client.Get(ctx, client.ObjectKeyFromObject(repo), cur); err != nil {
			return false, err.Error()
		}
		wf := &krtv1.Workflow{}
		applied := env.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: "hello"}, wf) == nil
		return applied && cur.Status.Artifact != nil && strings.HasSuffix(cur.Status.Artifact.Revision, first),
			fmt.Sprintf("artifact %+v, workflow applied %v, conditions %+v", cur.Status.Artifact, applied, cur.Status.Conditions)
	})
	clone.Write(map[string]string{"README.md": "a push\n"})
	sha := clone.Commit("a push")
	clone.Push("HEAD:refs/heads/main")

	name := runs.Name("hello", "push-"+sha[:7])
	wr := &krtv1.WorkflowRun{}
	waitUnrefused(t, since, 2*time.Minute, "run "+name+" to finish", func() (bool, string) {
		if err := env.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, wr); err != nil {
			return false, err.Error()
		}
		return wr.Status.Phase.Terminal(), fmt.Sprintf("phase %s %q, nodes %+v", wr.Status.Phase, wr.Status.Message, wr.Status.Nodes)
	})
	if wr.Status.Phase != krtv1.WorkflowSucceeded {
		t.Fatalf("run %s ended %s %q, nodes %+v", name, wr.Status.Phase, wr.Status.Message, wr.Status.Nodes)
	}
	want := "hello " + sha
	for _, n := range wr.Status.Nodes {
		run := &krtv1.Run{}
		if err := env.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: n.Run}, run); err != nil {
			t.Errorf("node %s's Run %q: %v", n.Name, n.Run, err)
			continue
		}
		key := map[string]string{"build": "greeting", "check": "seen"}[n.Name]
		if run.Status.Phase != krtv1.RunSucceeded || run.Status.Outputs[key] != want {
			t.Errorf("node %s: Run %s is %s with outputs %v, want Succeeded with %s=%q", n.Name, run.Name, run.Status.Phase, run.Status.Outputs, key, want)
		}
	}
	if len(wr.Status.Nodes) != 2 {
		t.Errorf("nodes %+v, want build and check", wr.Status.Nodes)
	}
	if refused := refusals(); refused != "" {
		t.Errorf("the API server refused krt-controller:\n%s", refused)
	}
	checkNotAdmin(t, ns)
}

// checkNotAdmin shows that the controller's credentials are what the test
// claims, its ServiceAccount's and not the admin's: the ClusterRole lets
// it get a Secret by name, never list them.
func checkNotAdmin(t *testing.T, ns string) {
	t.Helper()
	cfg, err := clientcmd.BuildConfigFromFlags("", stack.ControllerKubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	c, err := client.New(cfg, client.Options{Scheme: env.Scheme})
	if err != nil {
		t.Fatal(err)
	}
	err = c.List(context.Background(), &corev1.SecretList{}, client.InNamespace(ns))
	if !apierrors.IsForbidden(err) || !strings.Contains(err.Error(), `"system:serviceaccount:krt-system:krt-controller" cannot list resource "secrets"`) {
		t.Errorf("the controller's credentials listing Secrets: %v; want the ServiceAccount refused", err)
	}
}

// waitUnrefused polls cond until it holds, and fails at once, naming the
// refusal, if the API server refuses krt-controller anything meanwhile:
// a missing permission then fails in seconds, saying which, rather than
// in a timeout.
func waitUnrefused(t *testing.T, since int64, timeout time.Duration, what string, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		ok, last := cond()
		if ok {
			return
		}
		if refused := stack.Controller.Refusals(since, 3); refused != "" {
			t.Fatalf("waiting for %s, the API server refused krt-controller:\n%s", what, refused)
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s: %s%s", timeout, what, last, stack.ControllerState())
		}
		time.Sleep(100 * time.Millisecond)
	}
}
