package ui

import (
	"context"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	krtv1 "krt.dev/krt/api/v1alpha1"
)

// A failed run: the failed node shows Failed with its message, the node
// after it Skipped, and the finally step still runs.
func TestFailedRunPage(t *testing.T) {
	ns := env.Namespace(t)
	runtime(t, ns, "bash")
	wf := workflow(t, ns, "fails.yaml", nil)
	u := serveUI(t, user(t, ns, "fay"), ns)
	ctx := browser(t)
	// The runs list, open before the run starts, shows it come and fail.
	do(t, ctx, "open the runs list", chromedp.Navigate(u.signIn("/ns/"+ns+"/runs?workflow=fails")), chromedp.WaitVisible(chromedp.CSS("#runs-table")))
	eval[bool](t, ctx, `window.__noReload = true`)
	startRun(t, wf, "fails-1")
	waitRun(t, ns, "fails-1", "fail", func(wr *krtv1.WorkflowRun) bool { return wr.Status.Phase == krtv1.WorkflowFailed })
	waitJS(t, ctx, 20*time.Second, "the run's row to say Failed without a reload",
		`window.__noReload === true && !!document.querySelector('tr[data-run="fails-1"]') && document.querySelector('tr[data-run="fails-1"]').textContent.includes("Failed")`)
	do(t, ctx, "open the run", chromedp.Navigate(u.signIn("/ns/"+ns+"/runs/fails-1/nodes/check")), chromedp.WaitVisible(chromedp.CSS("#log")))
	waitJS(t, ctx, 10*time.Second, "check to show Failed", nodeIs("check", "Failed"))
	waitJS(t, ctx, 10*time.Second, "deploy to show Skipped", nodeIs("deploy", "Skipped"))
	waitJS(t, ctx, 10*time.Second, "report to show Succeeded", nodeIs("report", "Succeeded"))
	waitJS(t, ctx, 10*time.Second, "the run to show Failed", `document.getElementById("run-phase").textContent.includes("Failed")`)
	waitJS(t, ctx, 10*time.Second, "the failed step's log", `document.getElementById("log").textContent.includes("checking the build")`)
	screenshot(t, ctx, "run-failed")
}

// A repository's parse error reads as file:line on the Repositories page.
func TestRepositoryParseError(t *testing.T) {
	ns := env.Namespace(t)
	u := serveUI(t, user(t, ns, "pat"), ns)
	repo := &krtv1.WorkflowRepository{ObjectMeta: metav1.ObjectMeta{Name: "apps", Namespace: ns},
		Spec: krtv1.WorkflowRepositorySpec{URL: "https://git.example/apps.git", Suspend: true}}
	ctx := context.Background()
	if err := env.Client.Create(ctx, repo); err != nil {
		t.Fatal(err)
	}
	// The source controller leaves a suspended repository's files alone;
	// the status is written here as it would write it for a bad file.
	eventually(t, 30*time.Second, "the parse error to be recorded", func() (bool, string) {
		cur := &krtv1.WorkflowRepository{}
		if err := env.Client.Get(ctx, client.ObjectKeyFromObject(repo), cur); err != nil {
			return false, err.Error()
		}
		if len(cur.Status.ParseErrors) == 0 {
			cur.Status.Artifact = &krtv1.Artifact{Revision: "main@sha1:89abcdef0123456789abcdef0123456789abcdef"}
			cur.Status.ParseErrors = []krtv1.ParseError{{File: "workflows/deploy.yaml", Line: 12, Field: "spec.steps[1].needs",
				Message: "step test needs build, which is not a step"}}
			err := env.Client.Status().Update(ctx, cur)
			return false, "updated: " + errString(err)
		}
		return true, ""
	})
	bctx := browser(t)
	do(t, bctx, "open the repositories", chromedp.Navigate(u.signIn("/ns/"+ns+"/repositories")), chromedp.WaitVisible(chromedp.CSS("h1")))
	waitJS(t, bctx, 10*time.Second, "the parse error as file:line",
		`[...document.querySelectorAll(".parse-errors .where")].some(e => e.textContent === "workflows/deploy.yaml:12")`)
	waitJS(t, bctx, 5*time.Second, "its reason", `document.querySelector(".parse-errors").textContent.includes("step test needs build")`)
	screenshot(t, bctx, "repositories")
}

func errString(err error) string {
	if err == nil {
		return "ok"
	}
	return err.Error()
}
