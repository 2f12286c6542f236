package ui

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	krtv1 "krt.dev/krt/api/v1alpha1"
)

// A promotion, watched in the browser from start to end: every node with
// its phase and cluster, a node going from Running to Succeeded with no
// reload, its log growing line by line, and the prod gate refused to a
// user who is not an approver and then approved by one who is.
func TestPromotionRunPage(t *testing.T) {
	ns := env.Namespace(t)
	runtime(t, ns, "bash")
	for _, c := range []string{"staging", "prod-eu", "prod-us"} {
		register(t, ns, c)
	}
	release := filepath.Join(t.TempDir(), "release")
	wf := workflow(t, ns, "promote.yaml", func(s string) string { return strings.ReplaceAll(s, "RELEASE_FILE", release) })
	rita := serveUI(t, user(t, ns, "rita", "release-managers"), ns)
	bob := serveUI(t, user(t, ns, "bob", "developers"), ns)
	startRun(t, wf, "promote-1")
	runURL := "/ns/" + ns + "/runs/promote-1"

	ctx := browser(t)
	do(t, ctx, "sign in as rita and open the run", chromedp.Navigate(rita.signIn(runURL)), chromedp.WaitVisible(chromedp.CSS("#dag a.node")))
	// A mark that a reload would wipe out.
	eval[bool](t, ctx, `window.__noReload = true`)
	waitRun(t, ns, "promote-1", "run test-staging", func(wr *krtv1.WorkflowRun) bool { return nodePhase(wr, "test-staging") == krtv1.NodeRunning })

	t.Run("every node with its phase", func(t *testing.T) {
		waitJS(t, ctx, 20*time.Second, "test-staging to show Running", nodeIs("test-staging", "Running"))
		wr := waitRun(t, ns, "promote-1", "be read", func(*krtv1.WorkflowRun) bool { return true })
		for _, n := range wr.Status.Nodes {
			if n.Phase == krtv1.NodeRunning || n.Phase.Done() {
				waitJS(t, ctx, 10*time.Second, n.Name+" to show "+string(n.Phase), nodeIs(n.Name, string(n.Phase)))
			}
		}
		for _, name := range []string{"build", "deploy-staging", "test-staging", "approve-prod", "deploy-prod", "notify"} {
			waitJS(t, ctx, 5*time.Second, "a node for step "+name, `!!document.querySelector('#dag [data-node="`+name+`"], #dag [data-step="`+name+`"]')`)
		}
		waitJS(t, ctx, 5*time.Second, "deploy-staging to show its cluster",
			`document.querySelector('#dag [data-node="deploy-staging"] .meta').textContent.includes("cluster staging")`)
		waitJS(t, ctx, 5*time.Second, "finally apart", `!!document.querySelector('section.dag-section[aria-label="finally"] [data-node="notify"]')`)
		screenshot(t, ctx, "run-running")
	})

	t.Run("live log of a running node", func(t *testing.T) {
		do(t, ctx, "open test-staging", chromedp.Click(chromedp.CSS(`#dag a.node[data-node="test-staging"]`)),
			chromedp.WaitVisible(chromedp.CSS("#log")))
		waitJS(t, ctx, 20*time.Second, "a first log line", `document.getElementById("log").textContent.includes("checking staging, pass")`)
		first := eval[int](t, ctx, `document.getElementById("log").textContent.split("\n").length`)
		waitJS(t, ctx, 10*time.Second, "more lines as they are written",
			`document.getElementById("log").textContent.split("\n").length > `+strconv.Itoa(first+3))
		screenshot(t, ctx, "node-log")
	})

	t.Run("Running to Succeeded without a reload", func(t *testing.T) {
		if err := os.WriteFile(release, nil, 0o644); err != nil {
			t.Fatal(err)
		}
		waitJS(t, ctx, 30*time.Second, "test-staging to show Succeeded", nodeIs("test-staging", "Succeeded"))
		waitJS(t, ctx, 10*time.Second, "the last log line", `document.getElementById("log").textContent.includes("staging is good")`)
		waitJS(t, ctx, 20*time.Second, "approve-prod to wait", nodeIs("approve-prod", "Waiting"))
		waitJS(t, ctx, time.Second, "the page not to have reloaded", `window.__noReload === true`)
	})

	t.Run("a non-approver is refused", func(t *testing.T) {
		bctx := browser(t)
		do(t, bctx, "open the gate as bob", chromedp.Navigate(bob.signIn(runURL+"/nodes/approve-prod")),
			chromedp.WaitVisible(chromedp.CSS("#approve")))
		waitJS(t, bctx, 5*time.Second, "the approvers to be shown", `document.querySelector(".gate").textContent.includes("group:release-managers")`)
		if code := submit(t, bctx, "approve as bob", "#approve"); code != 403 {
			t.Errorf("bob's approval: HTTP %d, want 403", code)
		}
		waitJS(t, bctx, 5*time.Second, "the refusal", `document.getElementById("error").textContent.includes("may not decide step approve-prod")`)
		time.Sleep(time.Second)
		if p := nodePhase(waitRun(t, ns, "promote-1", "be read", func(*krtv1.WorkflowRun) bool { return true }), "approve-prod"); p != krtv1.NodeWaiting {
			t.Fatalf("after bob's refused approval the gate is %s, want Waiting", p)
		}
	})

	t.Run("an approver approves, and prod runs", func(t *testing.T) {
		do(t, ctx, "open the gate", chromedp.Click(chromedp.CSS(`#dag a.node[data-node="approve-prod"]`)),
			chromedp.WaitVisible(chromedp.CSS("#approve")))
		waitJS(t, ctx, 5*time.Second, "what will run", `document.querySelector(".willrun").textContent.includes("deploying ${IMAGE} to ${REGION}")`)
		if code := submit(t, ctx, "approve as rita", "#approve"); code != 200 {
			t.Errorf("rita's approval: HTTP %d after its redirect, want 200", code)
		}
		waitJS(t, ctx, 5*time.Second, "the confirmation", `document.querySelector(".flash").textContent.includes("approved step approve-prod of run promote-1 as rita")`)
		waitRun(t, ns, "promote-1", "succeed", func(wr *krtv1.WorkflowRun) bool { return wr.Status.Phase == krtv1.WorkflowSucceeded })
		waitJS(t, ctx, 20*time.Second, "the run to show Succeeded", `document.getElementById("run-phase").textContent.includes("Succeeded")`)
		waitJS(t, ctx, 5*time.Second, "both regions grouped and done",
			`document.querySelector('#dag .group[data-step="deploy-prod"] .sum').textContent === "2/2 done"`)
		screenshot(t, ctx, "run-succeeded")
		do(t, ctx, "open the runs list", chromedp.Navigate(rita.base+"/ns/"+ns+"/runs"), chromedp.WaitVisible(chromedp.CSS("table.runs")))
		screenshot(t, ctx, "runs-list")
	})
}

// nodeIs is true when a node of the DAG shows phase.
func nodeIs(node, phase string) string {
	return `(function(){const a=document.querySelector('#dag a.node[data-node="` + node + `"]');` +
		`return !!a && a.querySelector(".ph").textContent === "` + phase + `" && a.classList.contains("ph-` + phase + `");})()`
}
