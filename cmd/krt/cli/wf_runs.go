package cli

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"k8s.io/apimachinery/pkg/util/duration"
	"sigs.k8s.io/controller-runtime/pkg/client"

	krtv1 "krt.dev/krt/api/v1alpha1"
)

// wfMessageWidth keeps the MESSAGE column from wrapping a terminal; the
// whole message is in `krt wf graph` and -o yaml.
const wfMessageWidth = 80

func (r *root) wfRunsCommand() *cobra.Command {
	var all, watch bool
	cmd := &cobra.Command{
		Use:   "runs [WORKFLOW] [-A] [-o wide|yaml|json] [-w]",
		Short: "List WorkflowRuns, newest first",
		Long: `Runs lists the WorkflowRuns of the namespace (-A: of every namespace), or of
one WORKFLOW, newest first: as a table, a wide table (nodes done, revision),
or as a WorkflowRunList in yaml or json. With --watch it then prints a row
each time a run starts or changes, until Ctrl-C.`,
		Args:              cobra.MaximumNArgs(1),
		ValidArgsFunction: r.complete(1, listWorkflows(nil)),
	}
	output := addOutputFlag(cmd, outWide, outYAML, outJSON)
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		wf := ""
		if len(args) == 1 {
			wf = args[0]
		}
		return r.wfRuns(cmd.Context(), wf, printOptions{output: output.value, allNamespaces: all, asList: true}, watch)
	}
	cmd.Flags().BoolVarP(&all, "all-namespaces", "A", false, "list runs in every namespace")
	cmd.Flags().BoolVarP(&watch, "watch", "w", false, "after listing, print each change until Ctrl-C")
	return cmd
}

func (r *root) wfRuns(ctx context.Context, wf string, o printOptions, watch bool) error {
	s, err := r.wfSession()
	if err != nil {
		return err
	}
	opts := []client.ListOption{}
	if !o.allNamespaces {
		opts = append(opts, client.InNamespace(s.ns))
	}
	list := &krtv1.WorkflowRunList{}
	if err := s.c.List(ctx, list, opts...); err != nil {
		return err
	}
	runs := wfRunsOf(list.Items, wf)
	wfSortRuns(runs)
	if watch {
		w := listWatch[krtv1.WorkflowRun, *krtv1.WorkflowRun]{c: s.c, list: &krtv1.WorkflowRunList{}, rv: list.ResourceVersion, opts: opts,
			keep: func(wr *krtv1.WorkflowRun) bool { return wfRunOf(wr, wf) }}
		return w.run(ctx, newChanges(workflowRunPrinter, o, r.Out), runs)
	}
	if len(runs) == 0 && isTable(o.output) {
		fmt.Fprintln(r.Err, "No WorkflowRuns found.")
		return nil
	}
	return workflowRunPrinter.print(r.Out, o, runs, time.Now())
}

// wfRunsOf keeps the runs of one workflow. A run is matched by its label
// or, for runs made by something that did not label them, by
// spec.workflow; so the filter is done here rather than by a selector.
func wfRunsOf(runs []krtv1.WorkflowRun, wf string) []krtv1.WorkflowRun {
	if wf == "" {
		return runs
	}
	var out []krtv1.WorkflowRun
	for i := range runs {
		if wfRunOf(&runs[i], wf) {
			out = append(out, runs[i])
		}
	}
	return out
}

func wfRunOf(wr *krtv1.WorkflowRun, wf string) bool {
	return wf == "" || wr.Labels[wfLabelWorkflow] == wf || wr.Spec.Workflow == wf
}

// wfEvent says what started a run, with the detail that tells runs of
// one kind apart.
func wfEvent(ev *krtv1.WorkflowEvent) string {
	switch {
	case ev.PullRequest != nil:
		return fmt.Sprintf("pr #%d", ev.PullRequest.Number)
	case ev.Manual != nil && ev.Manual.User != "":
		return "manual (" + ev.Manual.User + ")"
	case ev.Type == krtv1.EventSchedule:
		return "cron"
	}
	return orDash(ev.Type)
}

// wfPhase shows a run no controller has looked at yet as Pending, which
// is what it is to the person who just triggered it.
func wfPhase(wr *krtv1.WorkflowRun) krtv1.WorkflowRunPhase {
	if wr.Status.Phase == "" {
		return krtv1.WorkflowPending
	}
	return wr.Status.Phase
}

func wfStarted(wr *krtv1.WorkflowRun, now time.Time) string {
	if wr.Status.StartTime == nil {
		return "-"
	}
	return duration.HumanDuration(now.Sub(wr.Status.StartTime.Time)) + " ago"
}

// wfDuration is how long a run took, or has taken so far.
func wfDuration(wr *krtv1.WorkflowRun, now time.Time) string {
	if wr.Status.StartTime == nil {
		return "-"
	}
	end := now
	if wr.Status.CompletionTime != nil {
		end = wr.Status.CompletionTime.Time
	}
	return duration.HumanDuration(end.Sub(wr.Status.StartTime.Time))
}

// wfRunMessage is the run's message, or while it is in progress the
// Ready condition's, which says what it waits for (an approval of a pull
// request's head, say).
func wfRunMessage(wr *krtv1.WorkflowRun) string {
	if wr.Status.Message != "" {
		return wr.Status.Message
	}
	if wr.Status.Phase == krtv1.WorkflowAwaitingApproval {
		for _, c := range wr.Status.Conditions {
			if c.Type == krtv1.ConditionReady {
				return c.Message
			}
		}
	}
	return ""
}

// wfOneLine makes a message fit one table cell.
func wfOneLine(s string, width int) string {
	s = strings.Join(strings.Fields(s), " ")
	if r := []rune(s); len(r) > width {
		return string(r[:width-1]) + "…"
	}
	return s
}
