package cli

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"
	authenticationv1 "k8s.io/api/authentication/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	krtv1 "krt.dev/krt/api/v1alpha1"
	"krt.dev/krt/cmd/krt/runops"
	"krt.dev/krt/workflows/runs"
)

// wfLabelWorkflow on a WorkflowRun names its Workflow (cut to a label
// value, so spec.workflow is checked too).
const wfLabelWorkflow = runs.LabelWorkflow

func (r *root) wfCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:     "wf",
		Aliases: []string{"workflow"},
		Short:   "List, trigger, approve and inspect Workflows and their runs",
	}
	cmd.AddCommand(r.wfListCommand(), r.wfRunsCommand(), r.wfTriggerCommand(),
		r.wfDecideCommand(wfApprove), r.wfDecideCommand(wfReject), r.wfCancelCommand(), r.wfRerunCommand(), r.wfHistoryCommand(), r.wfGraphCommand(), r.wfLogsCommand(), r.wfArtifactsCommand())
	return cmd
}

// wfSession is what every wf subcommand needs: a client and the namespace
// of the kubeconfig or -n.
type wfSession struct {
	c  client.WithWatch
	ns string
}

func (r *root) wfSession() (*wfSession, error) {
	ns, err := r.namespace()
	if err != nil {
		return nil, err
	}
	c, err := r.client()
	if err != nil {
		return nil, err
	}
	return &wfSession{c: c, ns: ns}, nil
}

// run reads a WorkflowRun, saying which one was missing in words, since
// the API server's "not found" names the resource, not the namespace.
func (s *wfSession) run(ctx context.Context, name string) (*krtv1.WorkflowRun, error) {
	wr := &krtv1.WorkflowRun{}
	err := s.c.Get(ctx, client.ObjectKey{Namespace: s.ns, Name: name}, wr)
	if apierrors.IsNotFound(err) {
		return nil, fmt.Errorf("workflow run %q not found in namespace %q", name, s.ns)
	}
	return wr, err
}

// whoami asks the API server who the caller is. The approval admission
// policy compares an Approval's user and groups with exactly this, so a
// name from the kubeconfig would not do.
func (r *root) whoami(ctx context.Context) (authenticationv1.UserInfo, error) {
	cfg, err := r.restConfig()
	if err != nil {
		return authenticationv1.UserInfo{}, err
	}
	return runops.Whoami(ctx, cfg)
}

func (r *root) wfListCommand() *cobra.Command {
	var all bool
	cmd := &cobra.Command{
		Use:   "list [-A] [-o wide|yaml|json]",
		Short: "List Workflows: their triggers, steps, last run and readiness",
		Args:  cobra.NoArgs,
	}
	output := addOutputFlag(cmd, outWide, outYAML, outJSON)
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		return r.wfList(cmd.Context(), printOptions{output: output.value, allNamespaces: all, asList: true})
	}
	cmd.Flags().BoolVarP(&all, "all-namespaces", "A", false, "list Workflows in every namespace")
	return cmd
}

func (r *root) wfList(ctx context.Context, o printOptions) error {
	s, err := r.wfSession()
	if err != nil {
		return err
	}
	opts := []client.ListOption{}
	if !o.allNamespaces {
		opts = append(opts, client.InNamespace(s.ns))
	}
	wfs := &krtv1.WorkflowList{}
	if err := s.c.List(ctx, wfs, opts...); err != nil {
		return err
	}
	if isTable(o.output) && len(wfs.Items) == 0 {
		fmt.Fprintln(r.Err, "No Workflows found.")
		return nil
	}
	var newest map[string]string
	if isTable(o.output) {
		runs := &krtv1.WorkflowRunList{}
		if err := s.c.List(ctx, runs, opts...); err != nil {
			return err
		}
		newest = newestRuns(runs.Items)
	}
	return workflowPrinter(newest).print(r.Out, o, wfs.Items, time.Now())
}

// newestRuns maps namespace/workflow to its newest run's name: the LAST
// RUN column's fallback while no controller fills status.lastRun.
func newestRuns(runs []krtv1.WorkflowRun) map[string]string {
	wfSortRuns(runs)
	out := map[string]string{}
	for _, wr := range runs {
		key := wr.Namespace + "/" + wr.Spec.Workflow
		if _, seen := out[key]; !seen {
			out[key] = wr.Name
		}
	}
	return out
}

// wfTriggers names a workflow's triggers in the words people use.
func wfTriggers(on *krtv1.Triggers) string {
	var out []string
	if on.Push != nil {
		out = append(out, "push")
	}
	if on.PullRequest != nil {
		out = append(out, "pr")
	}
	if len(on.Schedule) > 0 {
		out = append(out, "cron")
	}
	if on.Manual != nil {
		out = append(out, "manual")
	}
	return orDash(strings.Join(out, ","))
}

func wfReady(conds []metav1.Condition) string {
	if c := meta.FindStatusCondition(conds, krtv1.ConditionReady); c != nil {
		return string(c.Status)
	}
	return "-"
}

// wfReadyMessage says why a workflow is not ready.
func wfReadyMessage(conds []metav1.Condition) string {
	if c := meta.FindStatusCondition(conds, krtv1.ConditionReady); c != nil && c.Status != metav1.ConditionTrue {
		return c.Message
	}
	return ""
}

// wfSortRuns orders runs newest first; the name breaks ties in the same
// second, so the order is stable.
func wfSortRuns(runs []krtv1.WorkflowRun) {
	slices.SortStableFunc(runs, func(a, b krtv1.WorkflowRun) int {
		if c := b.CreationTimestamp.Compare(a.CreationTimestamp.Time); c != 0 {
			return c
		}
		return strings.Compare(b.Name, a.Name)
	})
}
