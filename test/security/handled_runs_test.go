package security

import (
	"context"
	"slices"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/util/wait"
	"sigs.k8s.io/controller-runtime/pkg/client"

	krtv1 "krt.dev/krt/api/v1alpha1"
	"krt.dev/krt/sources/gitserver/gittest"
	"krt.dev/krt/workflows/runs"
)

// gatedWorkflow deploys on every push to main, once someone approves: a
// run that is deleted must not come back as a new deploy.
const gatedWorkflow = `apiVersion: krt.dev/v1alpha1
kind: Workflow
metadata:
  name: gated
spec:
  on:
    push:
      branches: [main]
  steps:
    - name: approve
      approval: {approvers: [alice]}
`

// TestDeletedRunStaysDeleted deletes the run of a push, as a user
// cleaning up (or retention) would. The push is still recorded on the
// repository, and before the fix the trigger took "no run" for "not run
// yet" and made it again: a second deploy. It must not come back in the
// trigger's next passes, nor after krt-controller restarts, which loses
// everything the trigger held in memory: the record of handled events is
// the Workflow's status, in the API server.
//
// "Not recreated" is shown by later events, not by sleeping: each pass
// reads every recorded push, oldest first, so the run of a later push
// being made proves a pass has read the deleted run's push after the
// deletion. A bounded poll of a few more seconds then covers a pass the
// run's own deletion might have woken.
func TestDeletedRunStaysDeleted(t *testing.T) {
	ctx := context.Background()
	ns := env.Namespace(t)
	repo, clone := exprRepo(t, ns, map[string]string{"workflows/gated.yaml": gatedWorkflow}, nil)
	wf := &krtv1.Workflow{}
	eventually(t, time.Minute, "workflow gated to be applied"+stack.ControllerState(), func() bool {
		return env.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: "gated"}, wf) == nil
	})
	first := pushAndWaitRun(t, repo, clone, "first deploy")
	eventually(t, 30*time.Second, "the workflow to record "+first, func() bool {
		return env.Client.Get(ctx, client.ObjectKeyFromObject(wf), wf) == nil && slices.Contains(wf.Status.HandledRuns, first)
	})
	deleteRun(t, ns, first)

	pushAndWaitRun(t, repo, clone, "second deploy")
	stillGone(t, ns, first, "after the trigger's next pass")

	stack.Controller.Stop()
	if err := stack.StartController(); err != nil {
		t.Fatal(err)
	}
	pushAndWaitRun(t, repo, clone, "third deploy")
	stillGone(t, ns, first, "after krt-controller restarted")
	if err := env.Client.Get(ctx, client.ObjectKeyFromObject(wf), wf); err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(wf.Status.HandledRuns, first) {
		t.Errorf("the workflow's record lost %s: %v", first, wf.Status.HandledRuns)
	}
}

// pushAndWaitRun pushes a commit to main and waits for its run.
func pushAndWaitRun(t *testing.T, repo *krtv1.WorkflowRepository, clone *gittest.Clone, msg string) string {
	t.Helper()
	clone.Write(map[string]string{"app.txt": msg + "\n"})
	sha := clone.Commit(msg)
	clone.Push("HEAD:refs/heads/main")
	exprRefetch(t, repo)
	name := runs.Name("gated", "push-"+sha[:7])
	eventually(t, 2*time.Minute, "the run of the push "+msg+stack.ControllerState(), func() bool {
		return env.Client.Get(context.Background(), client.ObjectKey{Namespace: repo.Namespace, Name: name}, &krtv1.WorkflowRun{}) == nil
	})
	return name
}

func deleteRun(t *testing.T, ns, name string) {
	t.Helper()
	wr := &krtv1.WorkflowRun{}
	wr.Namespace, wr.Name = ns, name
	if err := env.Client.Delete(context.Background(), wr); err != nil {
		t.Fatal(err)
	}
	eventually(t, 30*time.Second, name+" to be gone", func() bool {
		return apierrors.IsNotFound(env.Client.Get(context.Background(), client.ObjectKeyFromObject(wr), wr))
	})
}

// stillGone fails if the run is there, now or within a few of the
// trigger's passes (a bounded wait: there is no event for "nothing
// happened").
func stillGone(t *testing.T, ns, name, when string) {
	t.Helper()
	_ = wait.PollUntilContextTimeout(context.Background(), 100*time.Millisecond, 3*time.Second, true,
		func(ctx context.Context) (bool, error) {
			err := env.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, &krtv1.WorkflowRun{})
			if err == nil {
				t.Fatalf("the deleted run %s was made again %s", name, when)
			}
			return false, nil
		})
}
