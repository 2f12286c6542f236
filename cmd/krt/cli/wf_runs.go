package cli

import (
	"context"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
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
	var all bool
	cmd := &cobra.Command{
		Use:   "runs [WORKFLOW] [-A]",
		Short: "List WorkflowRuns, newest first",
		Args:  cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			wf := ""
			if len(args) == 1 {
				wf = args[0]
			}
			return r.wfRuns(cmd.Context(), wf, all)
		},
	}
	cmd.Flags().BoolVarP(&all, "all-namespaces", "A", false, "list runs in every namespace")
	return cmd
}

func (r *root) wfRuns(ctx context.Context, wf string, all bool) error {
	s, err := r.wfSession()
	if err != nil {
		return err
	}
	opts := []client.ListOption{}
	if !all {
		opts = append(opts, client.InNamespace(s.ns))
	}
	list := &krtv1.WorkflowRunList{}
	if err := s.c.List(ctx, list, opts...); err != nil {
		return err
	}
	runs := wfRunsOf(list.Items, wf)
	if len(runs) == 0 {
		fmt.Fprintln(r.Err, "No WorkflowRuns found.")
		return nil
	}
	wfSortRuns(runs)
	return wfRunsTable(r.Out, runs, all, time.Now())
}

// wfRunsOf keeps the runs of one workflow. A run is matched by its label
// or, for runs made by something that did not label them, by
// spec.workflow; so the filter is done here rather than by a selector.
func wfRunsOf(runs []krtv1.WorkflowRun, wf string) []krtv1.WorkflowRun {
	if wf == "" {
		return runs
	}
	var out []krtv1.WorkflowRun
	for _, wr := range runs {
		if wr.Labels[wfLabelWorkflow] == wf || wr.Spec.Workflow == wf {
			out = append(out, wr)
		}
	}
	return out
}

func wfRunsTable(out io.Writer, runs []krtv1.WorkflowRun, all bool, now time.Time) error {
	w := tabwriter.NewWriter(out, 0, 4, 3, ' ', 0)
	header := "NAME\tWORKFLOW\tEVENT\tPHASE\tSTARTED\tDURATION\tMESSAGE"
	if all {
		header = "NAMESPACE\t" + header
	}
	fmt.Fprintln(w, header)
	for i := range runs {
		wr := &runs[i]
		if all {
			fmt.Fprintf(w, "%s\t", wr.Namespace)
		}
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", wr.Name, wr.Spec.Workflow, wfEvent(&wr.Spec.Event),
			wfPhase(wr), wfStarted(wr, now), wfDuration(wr, now), orDash(wfOneLine(wfRunMessage(wr), wfMessageWidth)))
	}
	return w.Flush()
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
