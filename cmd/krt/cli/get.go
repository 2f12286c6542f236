package cli

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/sync/errgroup"
	"sigs.k8s.io/controller-runtime/pkg/client"

	krtv1 "krt.dev/krt/api/v1alpha1"
)

func (r *root) getCommand() *cobra.Command {
	var watch bool
	cmd := &cobra.Command{
		Use:   "get RUN... [-o wide|yaml|json] [-w]",
		Short: "Show Runs",
		Long: `Get shows Runs as a table, a wide table (-o wide: pod, attempt, reason), or
as yaml or json: the Run itself, or a RunList for several.

With --watch it prints the table, then a row each time a Run changes, until
every Run named has finished (or Ctrl-C); with -o yaml or json, each new
version of a Run. It exits 0 whatever the Runs' results: use krt run --wait
for an exit code that follows one.`,
		Args:              cobra.MinimumNArgs(1),
		ValidArgsFunction: r.complete(0, listRuns(nil)),
	}
	output := addOutputFlag(cmd, outWide, outYAML, outJSON)
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		return r.get(cmd.Context(), args, printOptions{output: output.value}, watch)
	}
	cmd.Flags().BoolVarP(&watch, "watch", "w", false, "after printing, print each change until the Runs finish")
	return cmd
}

func (r *root) get(ctx context.Context, names []string, o printOptions, watch bool) error {
	ns, err := r.namespace()
	if err != nil {
		return err
	}
	c, err := r.client()
	if err != nil {
		return err
	}
	runs := make([]krtv1.Run, 0, len(names))
	for _, name := range names {
		run := krtv1.Run{}
		if err := c.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, &run); err != nil {
			return err
		}
		runs = append(runs, run)
	}
	if !watch {
		return runPrinter.print(r.Out, o, runs, time.Now())
	}
	return r.watchRuns(ctx, c, runs, o)
}

// watchRuns prints the Runs, then their changes until all have finished.
func (r *root) watchRuns(ctx context.Context, c client.WithWatch, runs []krtv1.Run, o printOptions) error {
	ch := newChanges(runPrinter, o, r.Out)
	if err := ch.start(runs); err != nil {
		return err
	}
	g, ctx := errgroup.WithContext(ctx)
	for _, run := range runs {
		g.Go(func() error { return watchUntilDone(ctx, c, &run, ch) })
	}
	return g.Wait()
}

// watchUntilDone prints the Run's changes until it finishes.
func watchUntilDone(ctx context.Context, c client.WithWatch, run *krtv1.Run, ch *changes[krtv1.Run, *krtv1.Run]) error {
	if run.Status.Phase.Terminal() {
		return nil
	}
	var werr error
	err := watchRun(ctx, c, client.ObjectKeyFromObject(run), func(cur *krtv1.Run) bool {
		werr = ch.update(cur)
		return werr != nil || cur.Status.Phase.Terminal()
	})
	if werr != nil {
		return werr
	}
	return err
}

func (r *root) listCommand() *cobra.Command {
	var (
		allNamespaces, watch bool
		runtime              string
	)
	cmd := &cobra.Command{
		Use:   "list [-A] [-r RUNTIME] [-o wide|yaml|json] [-w]",
		Short: "List Runs, newest last",
		Long: `List shows the Runs of the namespace (-A: of every namespace) as a table, a
wide table, or as a RunList in yaml or json. With --watch it then prints a
row each time a Run is created or changes, until Ctrl-C.`,
		Args: cobra.NoArgs,
	}
	output := addOutputFlag(cmd, outWide, outYAML, outJSON)
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		o := printOptions{output: output.value, allNamespaces: allNamespaces, asList: true}
		return r.list(cmd.Context(), o, runtime, watch)
	}
	cmd.Flags().BoolVarP(&allNamespaces, "all-namespaces", "A", false, "list Runs in every namespace")
	cmd.Flags().StringVarP(&runtime, "runtime", "r", "", "only Runs on this Runtime")
	cmd.Flags().BoolVarP(&watch, "watch", "w", false, "after listing, print each change until Ctrl-C")
	_ = cmd.RegisterFlagCompletionFunc("runtime", r.complete(0, listRuntimes))
	return cmd
}

func (r *root) list(ctx context.Context, o printOptions, runtime string, watch bool) error {
	c, err := r.client()
	if err != nil {
		return err
	}
	var opts []client.ListOption
	if !o.allNamespaces {
		ns, err := r.namespace()
		if err != nil {
			return err
		}
		opts = append(opts, client.InNamespace(ns))
	}
	list := &krtv1.RunList{}
	if err := c.List(ctx, list, opts...); err != nil {
		return err
	}
	onRuntime := func(run *krtv1.Run) bool { return runtime == "" || run.Spec.Runtime == runtime }
	runs := slices.DeleteFunc(list.Items, func(run krtv1.Run) bool { return !onRuntime(&run) })
	sortOldestFirst(runs)
	if watch {
		w := listWatch[krtv1.Run, *krtv1.Run]{c: c, list: &krtv1.RunList{}, rv: list.ResourceVersion, opts: opts, keep: onRuntime}
		return w.run(ctx, newChanges(runPrinter, o, r.Out), runs)
	}
	if len(runs) == 0 && isTable(o.output) {
		fmt.Fprintln(r.Err, "No Runs found.")
		return nil
	}
	return runPrinter.print(r.Out, o, runs, time.Now())
}

// sortOldestFirst orders Runs by creation, names breaking ties within a
// second, since the API server lists them by name.
func sortOldestFirst(runs []krtv1.Run) {
	slices.SortStableFunc(runs, func(a, b krtv1.Run) int {
		if c := a.CreationTimestamp.Compare(b.CreationTimestamp.Time); c != 0 {
			return c
		}
		return strings.Compare(a.Name, b.Name)
	})
}
