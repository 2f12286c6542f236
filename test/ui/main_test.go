// Package ui tests krt's web UI in a real browser: headless Chromium, from
// Debian's packages, driven with chromedp, against a real kube-apiserver
// and etcd with the real krt-controller and local runtime pool executing
// real bash. People are real API server identities (client certificates,
// and ServiceAccount tokens for the in-cluster sign-in), so RBAC and the
// approval admission policy judge them as they would in a cluster.
//
// The tests write screenshots to test/ui/screenshots (or $KRT_UI_SCREENSHOTS).
package ui

import (
	"fmt"
	"os"
	"os/exec"
	"testing"
	"time"

	"krt.dev/krt/test/kubetest"
)

var (
	env   *kubetest.Env
	bins  kubetest.Binaries
	stack *kubetest.Stack
	// chromium is the browser the tests drive.
	chromium string
)

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	var err error
	if chromium, err = findChromium(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	if env, err = kubetest.Start(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer env.Stop()
	if bins, err = kubetest.Build(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(bins.Dir)
	stack, err = kubetest.StartStack(env, bins, kubetest.StackOptions{KillGrace: 2 * time.Second, LeaseDuration: 3 * time.Second})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer stack.Stop()
	code := m.Run()
	if races := env.RaceReports(); races != "" {
		fmt.Fprintf(os.Stderr, "the race detector reported in a krt process:\n%s\n", races)
		code = 1
	}
	return code
}

// findChromium finds Debian's chromium; the tests never fall back to
// something else (make test-deps installs it).
func findChromium() (string, error) {
	for _, name := range []string{"chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			return p, nil
		}
	}
	return "", fmt.Errorf("test/ui needs chromium, which is not on PATH: run make test-deps (Debian: apt-get install chromium)")
}
