package promote

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"sigs.k8s.io/controller-runtime/pkg/client"

	krtv1 "krt.dev/krt/api/v1alpha1"
	"krt.dev/krt/workflows/runs"
)

const onPush = `apiVersion: krt.dev/v1alpha1
kind: Workflow
metadata:
  name: %s
spec:
  on:
    push:
      branches: [main]%s
  steps:
    - name: say
      runtime: bash
      env: {REVISION: "${{ event.push.revision }}"}
      run: echo "%s at $REVISION"
`

// Pushes end to end: a push to the served repo, announced by a signed
// webhook, starts one run of each on.push workflow whose paths it
// touches; a push touching none of a workflow's paths starts none of it.
func TestPushRuns(t *testing.T) {
	ns := hub.env.Namespace(t)
	runtime(t, hub, ns, "bash")
	token := "push-hook-token"
	clone, hook := servedRepo(t, ns, token, map[string]string{
		"workflows/any.yaml": fmt.Sprintf(onPush, "any", "", "any"),
		"workflows/web.yaml": fmt.Sprintf(onPush, "web", "\n      paths: [\"apps/web/**\"]", "web"),
	}, nil, "any", "web")

	push := func(file string) string {
		clone.Write(map[string]string{file: "changed\n"})
		sha := clone.Commit("change " + file)
		before := clone.Run("rev-parse", "HEAD~1")
		clone.Push("HEAD:refs/heads/main")
		sendHook(t, hook, token, "push", fmt.Sprintf(`{"ref":"refs/heads/main","before":%q,"after":%q}`, before, sha))
		// Two pushes that one reconcile sees are one new revision; the
		// test wants each to be its own.
		eventually(t, time.Minute, "the repository to record "+sha[:7], func() (bool, string) {
			repo := &krtv1.WorkflowRepository{}
			if err := hub.env.Client.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: "flows"}, repo); err != nil {
				return false, err.Error()
			}
			n := len(repo.Status.Pushes)
			return n > 0 && strings.HasSuffix(repo.Status.Pushes[n-1].Revision, sha), fmt.Sprint(repo.Status.Pushes)
		})
		return sha
	}
	docs := push("docs/readme.md")
	app := push("apps/web/index.html")

	for _, want := range []struct{ workflow, sha string }{{"any", docs}, {"any", app}, {"web", app}} {
		name := runs.Name(want.workflow, "push-"+want.sha[:7])
		wr := waitRun(t, ns, name, "finish", func(wr *krtv1.WorkflowRun) bool { return wr.Status.Phase.Terminal() })
		if wr.Status.Phase != krtv1.WorkflowSucceeded {
			t.Errorf("run %s ended %s", name, describe(wr))
		}
	}
	// web's run of the second push exists, so the trigger has weighed the
	// first push too: it handles a repository's pushes in order.
	list := &krtv1.WorkflowRunList{}
	if err := hub.env.Client.List(context.Background(), list, client.InNamespace(ns)); err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, wr := range list.Items {
		got = append(got, wr.Name)
	}
	if len(got) != 3 {
		t.Errorf("runs %v: want one of any per push and one of web, for the push that touched apps/web", got)
	}
}
