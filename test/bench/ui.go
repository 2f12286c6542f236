package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os/exec"
	"strings"
	"time"

	"github.com/chromedp/chromedp"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	krtv1 "krt.dev/krt/api/v1alpha1"
	"krt.dev/krt/cmd/krt/ui"
	"krt.dev/krt/workflows/expr"
	"krt.dev/krt/workflows/runs"
)

// The UI figures: how long the page of a 500-node fan-out takes to load in
// headless Chromium, against the page of a one-node run, and how far the
// browser lags behind the API server while the fan-out finishes live.
const (
	uiLoadTargetMs = 1000.0
	uiLagTargetMs  = 1000.0
)

func (b *bench) uiFigures(ctx context.Context) error {
	browserCtx, stop, err := startBrowser()
	if err != nil {
		return err
	}
	defer stop()
	if err := b.stopPools(ctx); err != nil {
		return err
	}
	ns, err := b.namespace(ctx, "ui")
	if err != nil {
		return err
	}
	rt := &krtv1.Runtime{ObjectMeta: metav1.ObjectMeta{Name: wfRuntime, Namespace: ns},
		Spec: krtv1.RuntimeSpec{Replicas: ptr.To(int32(b.opts.pods)), Capacity: int32(max(b.opts.capacity, fanOutWidth/b.opts.pods+1))}}
	if err := b.env.Client.Create(ctx, rt); err != nil {
		return err
	}
	if err := b.waitPoolOf(ctx, ns, wfRuntime); err != nil {
		return err
	}
	base, err := b.serveUI(ctx, ns)
	if err != nil {
		return err
	}
	// Signed in once; the cookie lasts the figure.
	if err := chromedp.Do(browserCtx, chromedp.Navigate(base)); err != nil {
		return err
	}
	wide, err := b.createWorkflow(ctx, ns, "ui-wide", krtv1.WorkflowSpec{Steps: []krtv1.Step{forEachStep("wide", fanOutWidth), wfStep("after", "wide")}})
	if err != nil {
		return err
	}
	one, err := b.createWorkflow(ctx, ns, "ui-one", krtv1.WorkflowSpec{Steps: []krtv1.Step{wfStep("one")}})
	if err != nil {
		return err
	}
	if err := b.uiLoad(ctx, browserCtx, base, one, wide); err != nil {
		return err
	}
	if err := b.uiLive(ctx, browserCtx, base, wide); err != nil {
		return err
	}
	return b.env.Client.Delete(ctx, rt)
}

// serveUI serves the UI as the admin, as `krt ui` would, and returns its
// sign-in address.
func (b *bench) serveUI(ctx context.Context, ns string) (string, error) {
	token := ui.NewLoginToken()
	s, err := ui.New(ui.Options{Mode: ui.Local, Config: b.env.Config, Namespace: ns, LoginToken: token})
	if err != nil {
		return "", err
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	go func() { _ = s.Serve(ctx, l) }()
	return ui.LoginURL("http://"+l.Addr().String(), token, ""), nil
}

// uiLoad opens the page of a finished 500-node run and of a one-node run,
// alternating, and takes the time from navigation to the last node shown.
func (b *bench) uiLoad(ctx, bctx context.Context, login string, one, wide *krtv1.Workflow) error {
	pages := map[string]string{}
	for _, wf := range []*krtv1.Workflow{one, wide} {
		wr, _, err := b.runWorkflow(ctx, wf)
		if err != nil {
			return err
		}
		pages[wf.Name] = fmt.Sprintf("/ns/%s/runs/%s", wr.Namespace, wr.Name)
	}
	base := baseOf(login)
	var wideMs, oneMs []float64
	for range b.opts.repeats + 2 {
		for _, c := range []struct {
			page  string
			nodes int
			into  *[]float64
		}{{pages["ui-wide"], fanOutWidth + 1, &wideMs}, {pages["ui-one"], 1, &oneMs}} {
			d, err := loadPage(bctx, base+c.page, c.nodes)
			if err != nil {
				return err
			}
			*c.into = append(*c.into, float64(d.Microseconds())/1000)
		}
	}
	// The first two of each warm the browser's cache of the script and
	// stylesheet; a user's second visit is the common one.
	wideMs, oneMs = wideMs[2:], oneMs[2:]
	b.results["ui_fanout_page_load_ms"] = round(median(wideMs))
	b.results["ui_fanout_page_load_ms_samples"] = rounds(wideMs)
	b.results["ui_one_node_page_load_ms"] = round(median(oneMs))
	b.results["ui_fanout_page_load_vs_one_node"] = round2(median(wideMs) / median(oneMs))
	b.results["ui_fanout_page_load_vs_target"] = round2(median(wideMs) / uiLoadTargetMs)
	return nil
}

// baseOf is the server's address, from its sign-in address.
func baseOf(login string) string {
	base, _, _ := strings.Cut(login, "/login?")
	return base
}

// loadPage navigates and waits until the page shows n nodes with a phase.
func loadPage(bctx context.Context, url string, n int) (time.Duration, error) {
	ctx, cancel := context.WithTimeout(bctx, time.Minute)
	defer cancel()
	start := time.Now()
	err := chromedp.Do(ctx, chromedp.Navigate(url),
		chromedp.WaitVisible(chromedp.CSS(`#dag a.node`)))
	if err != nil {
		return 0, err
	}
	got, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll("#dag a.node .ph").length`))
	if err != nil {
		return 0, err
	}
	if got != n {
		return 0, fmt.Errorf("the page of %s shows %d nodes, want %d", url, got, n)
	}
	return time.Since(start), nil
}

// uiLive opens a fan-out's page as it starts, and takes how long after the
// API server's watch saw it succeed the browser showed every node and the
// run Succeeded, without a reload.
func (b *bench) uiLive(ctx, bctx context.Context, login string, wide *krtv1.Workflow) error {
	base := baseOf(login)
	var lags []float64
	for range b.opts.repeats {
		env, err := expr.NewEnv()
		if err != nil {
			return err
		}
		wr, err := runs.NewRun(wide, nil, krtv1.WorkflowEvent{Type: krtv1.EventManual, Manual: &krtv1.ManualEvent{User: "admin"}}, "", nil, env)
		if err != nil {
			return err
		}
		if err := b.env.Client.Create(ctx, wr); err != nil {
			return err
		}
		if err := chromedp.Do(bctx, chromedp.Navigate(fmt.Sprintf("%s/ns/%s/runs/%s", base, wr.Namespace, wr.Name))); err != nil {
			return err
		}
		if _, err := chromedp.Run(bctx, chromedp.Evaluate[bool](uiDoneWatcher)); err != nil {
			return err
		}
		if _, err := b.waitWorkflowRun(ctx, wr); err != nil {
			return err
		}
		seen := time.Now().UnixMilli()
		shown, err := waitShown(bctx)
		if err != nil {
			return err
		}
		lags = append(lags, float64(shown-seen))
	}
	b.results["ui_fanout_live_lag_ms"] = round(median(lags))
	b.results["ui_fanout_live_lag_ms_samples"] = rounds(lags)
	b.results["ui_fanout_live_lag_vs_target"] = round2(median(lags) / uiLagTargetMs)
	return nil
}

// uiDoneWatcher notes, in the page, the moment it first shows the run and
// all 501 nodes Succeeded.
const uiDoneWatcher = `(() => {
  const check = () => {
    if (window.__doneAt) return;
    const phases = [...document.querySelectorAll("#dag a.node .ph")].map(e => e.textContent);
    if (phases.length === 501 && phases.every(p => p === "Succeeded") &&
        document.getElementById("run-phase").textContent.includes("Succeeded")) window.__doneAt = Date.now();
  };
  new MutationObserver(check).observe(document.body, {subtree: true, childList: true, characterData: true});
  check();
  return true;
})()`

func waitShown(bctx context.Context) (int64, error) {
	deadline := time.Now().Add(time.Minute)
	for time.Now().Before(deadline) {
		at, err := chromedp.Run(bctx, chromedp.Evaluate[int64](`window.__doneAt || 0`))
		if err != nil {
			return 0, err
		}
		if at > 0 {
			return at, nil
		}
		time.Sleep(50 * time.Millisecond)
	}
	return 0, errors.New("the browser did not show the fan-out succeeded within a minute of the API server")
}

// startBrowser starts headless Chromium, from Debian's packages.
func startBrowser() (context.Context, func(), error) {
	path, err := exec.LookPath("chromium")
	if err != nil {
		return nil, nil, fmt.Errorf("the ui figures need chromium: run make test-deps")
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(path), chromedp.NoSandbox,
		chromedp.WindowSize(1440, 900), chromedp.Flag("disable-gpu", true), chromedp.Flag("disable-dev-shm-usage", true))
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(actx)
	if err := chromedp.Do(ctx); err != nil {
		cancel()
		cancelAlloc()
		return nil, nil, err
	}
	return ctx, func() { cancel(); cancelAlloc() }, nil
}

// printUI adds the UI figures to the table.
func (b *bench) printUI(w io.Writer) {
	r := b.results
	if _, ok := r["ui_fanout_page_load_ms"]; !ok {
		return
	}
	fmt.Fprintf(w, "UI: 500-node run page load ms\t%v\tone-node page %v ms\t%v\t< 1000 ms (%v of it)\n",
		r["ui_fanout_page_load_ms"], r["ui_one_node_page_load_ms"], r["ui_fanout_page_load_vs_one_node"], r["ui_fanout_page_load_vs_target"])
	fmt.Fprintf(w, "UI: fan-out done, API watch → browser ms\t%v\t-\t-\tkeeps up (%v of 1 s)\n", r["ui_fanout_live_lag_ms"], r["ui_fanout_live_lag_vs_target"])
}
