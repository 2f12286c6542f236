package main

import (
	"context"
	"fmt"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/watch"
	"sigs.k8s.io/controller-runtime/pkg/client"

	krtv1 "krt.dev/krt/api/v1alpha1"
	"krt.dev/krt/test/kubetest"
	"krt.dev/krt/workflows/expr"
	"krt.dev/krt/workflows/runs"
)

// wfTimeout bounds one measured WorkflowRun or set of bare Runs: long
// enough for 2,000 nodes on the slow machine, short enough that a stuck
// engine fails the bench instead of hanging it.
const wfTimeout = 10 * time.Minute

// wfStep is a workflow step doing what the bare baseline's Runs do.
func wfStep(name string, needs ...string) krtv1.Step {
	return krtv1.Step{Name: name, Runtime: wfRuntime, Run: "true", Needs: needs}
}

// bareRun is the Run the engine makes of a wfStep, without the engine:
// the same runtime and script, so the two differ only by the workflow.
func bareRun(ns string) *krtv1.Run {
	return &krtv1.Run{ObjectMeta: metav1.ObjectMeta{GenerateName: "b-", Namespace: ns},
		Spec: krtv1.RunSpec{Runtime: wfRuntime, Script: "true"}}
}

// chainSpec is n steps, each needing the one before.
func chainSpec(n int) krtv1.WorkflowSpec {
	steps := []krtv1.Step{wfStep("s000")}
	for i := 1; i < n; i++ {
		steps = append(steps, wfStep(fmt.Sprintf("s%03d", i), fmt.Sprintf("s%03d", i-1)))
	}
	return krtv1.WorkflowSpec{Steps: steps}
}

// forEachStep expands to one node per item; the items look like the
// cluster or service names a real fan-out goes over.
func forEachStep(name string, items int, needs ...string) krtv1.Step {
	s := wfStep(name, needs...)
	s.ForEach = &krtv1.ForEach{}
	for i := range items {
		s.ForEach.Items = append(s.ForEach.Items, fmt.Sprintf("item-%04d", i))
	}
	return s
}

// createWorkflow creates a Workflow directly, as the source controller
// would apply one, with no trigger: the bench starts its runs itself.
func (b *bench) createWorkflow(ctx context.Context, ns, name string, spec krtv1.WorkflowSpec) (*krtv1.Workflow, error) {
	wf := &krtv1.Workflow{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns}, Spec: spec}
	if err := b.env.Client.Create(ctx, wf); err != nil {
		return nil, fmt.Errorf("creating workflow %s: %w", name, err)
	}
	return wf, nil
}

// runWorkflow creates a WorkflowRun of wf, built as `krt wf trigger`
// builds one, and returns it as it ended and the time from its create
// to the end seen by a watch.
func (b *bench) runWorkflow(ctx context.Context, wf *krtv1.Workflow) (*krtv1.WorkflowRun, time.Duration, error) {
	env, err := expr.NewEnv()
	if err != nil {
		return nil, 0, err
	}
	ev := krtv1.WorkflowEvent{Type: krtv1.EventManual, Manual: &krtv1.ManualEvent{User: kubetest.AdminUser}}
	wr, err := runs.NewRun(wf, nil, ev, "", nil, env)
	if err != nil {
		return nil, 0, err
	}
	start := time.Now()
	if err := b.env.Client.Create(ctx, wr); err != nil {
		return nil, 0, fmt.Errorf("creating a run of %s: %w", wf.Name, err)
	}
	end, err := b.waitWorkflowRun(ctx, wr)
	d := time.Since(start)
	if err != nil {
		return nil, 0, err
	}
	if end.Status.Phase != krtv1.WorkflowSucceeded {
		return nil, 0, fmt.Errorf("workflow run %s ended %s: %s", wr.Name, end.Status.Phase, end.Status.Message)
	}
	return end, d, nil
}

// waitWorkflowRun watches one WorkflowRun, from the version its create
// returned so no event is missed, until it ends.
func (b *bench) waitWorkflowRun(ctx context.Context, wr *krtv1.WorkflowRun) (*krtv1.WorkflowRun, error) {
	ctx, cancel := context.WithTimeout(ctx, wfTimeout)
	defer cancel()
	w, err := b.watcher.Watch(ctx, &krtv1.WorkflowRunList{}, &client.ListOptions{Namespace: wr.Namespace,
		FieldSelector: fields.OneTermEqualSelector("metadata.name", wr.Name),
		Raw:           &metav1.ListOptions{ResourceVersion: wr.ResourceVersion}})
	if err != nil {
		return nil, err
	}
	defer w.Stop()
	for ev := range w.ResultChan() {
		if ev.Type == watch.Error {
			return nil, fmt.Errorf("watching workflow run %s: %v", wr.Name, ev.Object)
		}
		if got, ok := ev.Object.(*krtv1.WorkflowRun); ok && got.Status.Phase.Terminal() {
			return got, nil
		}
	}
	return nil, fmt.Errorf("workflow run %s did not end within %v", wr.Name, wfTimeout)
}

// bareWaves is the baseline of a workflow's shape: each wave of bare Runs
// is created at once (from up to 8 clients) and waited for before the
// next, as the engine waits for a step's nodes before the step after.
// tr watches the namespace's Runs.
func (b *bench) bareWaves(ctx context.Context, ns string, waves []int, tr *tracker) (time.Duration, error) {
	total := 0
	for _, w := range waves {
		total += w
	}
	// Signalled per ended Run rather than polled: a poll's tick would add
	// up over a chain's hundred waits.
	ended := make(chan struct{}, total)
	tr.setOnDone(func() { ended <- struct{}{} })
	start := time.Now()
	for _, w := range waves {
		if err := b.createBare(ctx, ns, w); err != nil {
			return 0, err
		}
		if err := awaitN(ended, w); err != nil {
			return 0, err
		}
	}
	d := time.Since(start)
	if f := tr.failures(); f > 0 {
		return 0, fmt.Errorf("%d bare Runs did not succeed", f)
	}
	return d, nil
}

// createBare creates n bare Runs from up to 8 clients at once.
func (b *bench) createBare(ctx context.Context, ns string, n int) error {
	const clients = 8
	errs := make(chan error, clients)
	for c := range min(n, clients) {
		go func() {
			for i := c; i < n; i += clients {
				if err := b.env.Client.Create(ctx, bareRun(ns)); err != nil {
					errs <- err
					return
				}
			}
			errs <- nil
		}()
	}
	var first error
	for range min(n, clients) {
		if err := <-errs; err != nil && first == nil {
			first = err
		}
	}
	return first
}

// awaitN waits for n signals, within wfTimeout.
func awaitN(ch <-chan struct{}, n int) error {
	timeout := time.After(wfTimeout)
	for i := range n {
		select {
		case <-ch:
		case <-timeout:
			return fmt.Errorf("%d of %d bare Runs ended within %v", i, n, wfTimeout)
		}
	}
	return nil
}

func (t *tracker) failures() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.failed
}

// cleanWorkflows deletes the namespace's WorkflowRuns and Runs between
// repeats, as their TTLs would, so each repeat starts from the same state.
// The envtest API server has no garbage collector to follow the owners.
func (b *bench) cleanWorkflows(ctx context.Context, ns string) error {
	if err := b.env.Client.DeleteAllOf(ctx, &krtv1.WorkflowRun{}, client.InNamespace(ns)); err != nil {
		return err
	}
	return b.env.Client.DeleteAllOf(ctx, &krtv1.Run{}, client.InNamespace(ns))
}
