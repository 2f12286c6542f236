package cli

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/spf13/cobra"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"sigs.k8s.io/controller-runtime/pkg/client"

	krtv1 "krt.dev/krt/api/v1alpha1"
	"krt.dev/krt/workflows/expr"
	"krt.dev/krt/workflows/runs"
)

type wfTriggerOptions struct {
	params []string
	wait   bool
}

func (r *root) wfTriggerCommand() *cobra.Command {
	o := &wfTriggerOptions{}
	cmd := &cobra.Command{
		Use:   "trigger WORKFLOW [--param K=V ...] [--wait]",
		Short: "Start a run of a Workflow that has a manual trigger",
		Long: `Trigger creates a WorkflowRun of WORKFLOW as a manual event, in your name as the
API server knows you, and prints its name. The workflow must declare
on: {manual: {}}.

With --wait it reports progress on stderr until the run ends, and exits 0
when it succeeded, 1 when it failed and 130 when it was cancelled.`,
		Example: `  krt wf trigger promote-web --param env=prod
  krt wf trigger nightly --wait`,
		Args:              cobra.ExactArgs(1),
		ValidArgsFunction: r.complete(1, listWorkflows(wfHasManualTrigger)),
		RunE: func(cmd *cobra.Command, args []string) error {
			return r.wfTrigger(cmd.Context(), args[0], o)
		},
	}
	cmd.Flags().StringArrayVarP(&o.params, "param", "p", nil, "a param of the workflow, K=V (repeatable)")
	cmd.Flags().BoolVarP(&o.wait, "wait", "w", false, "wait for the run to end, showing its progress")
	return cmd
}

func (r *root) wfTrigger(ctx context.Context, name string, o *wfTriggerOptions) error {
	s, err := r.wfSession()
	if err != nil {
		return err
	}
	wf := &krtv1.Workflow{}
	if err := s.c.Get(ctx, client.ObjectKey{Namespace: s.ns, Name: name}, wf); err != nil {
		if apierrors.IsNotFound(err) {
			return fmt.Errorf("workflow %q not found in namespace %q", name, s.ns)
		}
		return err
	}
	if wf.Spec.On.Manual == nil {
		return fmt.Errorf("workflow %s has no manual trigger; add `on: {manual: {}}`", name)
	}
	params, err := wfParseParams(o.params, wf.Spec.Params, name)
	if err != nil {
		return err
	}
	tools, err := runs.LookupTools(ctx, s.c, wf)
	if err != nil {
		return err
	}
	me, err := r.whoami(ctx)
	if err != nil {
		return err
	}
	ev := krtv1.WorkflowEvent{Type: krtv1.EventManual, Manual: &krtv1.ManualEvent{User: me.Username}}
	wr, err := wfBuildRun(wf, tools, ev, params)
	if err != nil {
		return err
	}
	wr.Spec.TriggeredBy = me.Username
	if err := s.c.Create(ctx, wr); err != nil {
		return err
	}
	fmt.Fprintln(r.Out, wr.Name)
	if !o.wait {
		return nil
	}
	return r.wfWait(ctx, s.c, wr)
}

// wfParseParams turns --param flags into a run's params. Unknown names
// are refused, since the engine would silently ignore them; a param
// without a default must be given, since nothing else could fill it.
func wfParseParams(flags []string, defs []krtv1.Param, wf string) (map[string]string, error) {
	known := make([]string, 0, len(defs))
	for _, p := range defs {
		known = append(known, p.Name)
	}
	var out map[string]string
	for _, kv := range flags {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			return nil, fmt.Errorf("--param %q: want NAME=VALUE", kv)
		}
		if !slices.Contains(known, k) {
			return nil, fmt.Errorf("workflow %s has no param %q; %s", wf, k, wfKnownParams(known))
		}
		if _, dup := out[k]; dup {
			return nil, fmt.Errorf("--param %s is given twice", k)
		}
		if out == nil {
			out = map[string]string{}
		}
		out[k] = v
	}
	for _, p := range defs {
		if _, given := out[p.Name]; !given && p.Default == nil {
			return nil, fmt.Errorf("param %s of workflow %s has no default: give --param %s=VALUE", p.Name, wf, p.Name)
		}
	}
	return out, nil
}

func wfKnownParams(known []string) string {
	if len(known) == 0 {
		return "it takes no params"
	}
	return "its params are " + strings.Join(known, ", ")
}

// wfBuildRun makes the manual run with workflows/runs, as the trigger
// controller makes the others, so that a run looks the same whoever
// started it; only the name says it was started by hand.
func wfBuildRun(wf *krtv1.Workflow, tools []krtv1.NamedTool, ev krtv1.WorkflowEvent, params map[string]string) (*krtv1.WorkflowRun, error) {
	env, err := expr.NewEnv()
	if err != nil {
		return nil, err
	}
	wr, err := runs.NewRun(wf, tools, ev, "", params, env)
	if err != nil {
		return nil, err
	}
	wr.GenerateName = strings.TrimSuffix(wr.GenerateName, "-") + "-" + ev.Type + "-"
	return wr, nil
}
