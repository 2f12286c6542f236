package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"time"

	"github.com/spf13/cobra"
	"sigs.k8s.io/yaml"

	krtv1 "krt.dev/krt/api/v1alpha1"
	"krt.dev/krt/controllers/audit"
)

func (r *root) wfHistoryCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "history RUN [-o yaml|json]",
		Short: "Show who triggered, approved, rejected and cancelled a run, and when",
		Long: `History prints a run's audit trail, oldest first: the time (UTC), the action
(trigger, rerun, approve, reject, cancel), the user as the API server
authenticated them, and a detail. The workflow controller records it in the
run's status.history; -o yaml or json prints that list.

A trigger by a push or a pull request names krt's controller as the user and
the event's sender, as krt saw it, in the detail. A cancel is dated when the
controller saw it.`,
		Args:              cobra.ExactArgs(1),
		ValidArgsFunction: r.complete(1, listWorkflowRuns(nil)),
	}
	output := addOutputFlag(cmd, outYAML, outJSON)
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		s, err := r.wfSession()
		if err != nil {
			return err
		}
		wr, err := s.run(cmd.Context(), args[0])
		if err != nil {
			return err
		}
		return r.wfPrintHistory(wr, output.value)
	}
	return cmd
}

func (r *root) wfPrintHistory(wr *krtv1.WorkflowRun, output string) error {
	trail := slices.Clone(wr.Status.History)
	switch output {
	case outJSON:
		if trail == nil {
			trail = []krtv1.AuditEntry{}
		}
		b, err := json.MarshalIndent(trail, "", "    ")
		if err != nil {
			return err
		}
		_, err = fmt.Fprintf(r.Out, "%s\n", b)
		return err
	case outYAML:
		b, err := yaml.Marshal(trail)
		if err != nil {
			return err
		}
		_, err = r.Out.Write(b)
		return err
	}
	if len(trail) == 0 {
		fmt.Fprintf(r.Err, "No history recorded for %s yet.\n", wr.Name)
		return nil
	}
	if err := wfHistoryTable(r.Out, trail); err != nil {
		return err
	}
	if n := wr.Status.HistoryOmitted; n > 0 {
		fmt.Fprintf(r.Err, "%d more decisions did not fit in the history; the run's Events and the controller's audit log have them.\n", n)
	}
	return nil
}

// wfHistoryTable prints the trail in time order; the controller stores it
// in the order it saw things, which may differ by its reconcile latency.
func wfHistoryTable(w io.Writer, trail []krtv1.AuditEntry) error {
	slices.SortStableFunc(trail, func(a, b krtv1.AuditEntry) int { return a.Time.Compare(b.Time.Time) })
	rows := [][]string{{"TIME", "ACTION", "USER", "DETAIL"}}
	for _, e := range trail {
		user := e.User
		if user == "" {
			user = audit.Unknown
		}
		rows = append(rows, []string{e.Time.UTC().Format(time.RFC3339), e.Action, user, orDash(e.Detail)})
	}
	return newGrid(rows).write(w, rows...)
}
