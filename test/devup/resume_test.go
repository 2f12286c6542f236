package devup

import (
	"context"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"sigs.k8s.io/controller-runtime/pkg/client"

	krtv1 "krt.dev/krt/api/v1alpha1"
	"krt.dev/krt/cmd/krt/devstack"
)

// kept is what a stack held: each Run and WorkflowRun in namespace
// default of the hub, by kind and name, with its phase.
type kept map[string]string

func snapshot(t *testing.T, kubeconfig string) kept {
	t.Helper()
	c := kubeClient(t, kubeconfig)
	ctx := context.Background()
	runs, wfRuns := &krtv1.RunList{}, &krtv1.WorkflowRunList{}
	if err := c.List(ctx, runs, client.InNamespace("default")); err != nil {
		t.Fatal(err)
	}
	if err := c.List(ctx, wfRuns, client.InNamespace("default")); err != nil {
		t.Fatal(err)
	}
	k := kept{}
	for _, r := range runs.Items {
		k["Run "+r.Name] = string(r.Status.Phase)
	}
	for _, r := range wfRuns.Items {
		k["WorkflowRun "+r.Name] = string(r.Status.Phase)
	}
	return k
}

// resumes starts `krt dev up` again in the directory of a stack that
// stopped. The README: `krt dev up` keeps "its state in .krt-dev/, so the
// next up resumes it". So everything the first stack held is there again,
// as it was: the runs, each with its phase (the push's WorkflowRun among
// them), and the pushed commit in the git server.
func resumes(t *testing.T, dir string, before kept) {
	pushed := ""
	for obj := range before {
		if name, ok := strings.CutPrefix(obj, "WorkflowRun hello-push-"); ok {
			pushed = "hello-push-" + name
		}
	}
	if pushed == "" {
		t.Fatalf("the first stack held no WorkflowRun from the push to look for after the resume: %v", before)
	}
	scr := startUp(t, dir, "--git-port", "0")
	waitReady(t, dir, scr, 3*time.Minute)
	text := waitScreen(t, scr, "krt wf runs", time.Minute)
	if strings.Contains(text, "did not stop cleanly") {
		t.Errorf("the second up took a clean stop for a crash:\n%s", text)
	}
	st, err := devstack.ReadState(dir)
	if err != nil || st == nil {
		t.Fatalf("reading state.json: %v", err)
	}

	out, code := krt(t, []string{"KUBECONFIG=" + st.Kubeconfig}, "wf", "runs", "hello")
	phase := before["WorkflowRun "+pushed]
	if code != 0 || !regexp.MustCompile(`(?m)^`+pushed+`\s+hello\s.*\s`+phase+`\s`).MatchString(out) {
		t.Errorf("krt wf runs hello after the resume: exit %d, want %s %s:\n%s", code, pushed, phase, out)
	}
	after := snapshot(t, st.Kubeconfig)
	var lost []string
	for obj, phase := range before {
		if got, ok := after[obj]; !ok || got != phase {
			lost = append(lost, obj+" was "+phase+", now "+orGone(got, ok))
		}
	}
	sort.Strings(lost)
	if len(lost) > 0 {
		t.Errorf("after the resume, of the %d runs the first stack held:\n%s", len(before), strings.Join(lost, "\n"))
	}
	waitApplied(t, dir, strings.TrimPrefix(pushed, "hello-push-"))

	if out, code := krt(t, nil, "dev", "down", "--dir", dir); code != 0 {
		t.Errorf("krt dev down: exit %d:\n%s", code, out)
	}
	stopped(t, scr, dir, st)
}

func orGone(phase string, ok bool) string {
	if !ok {
		return "gone"
	}
	return phase
}
