package cli

import (
	"fmt"

	"github.com/spf13/cobra"
	"sigs.k8s.io/controller-runtime/pkg/client"

	krtv1 "krt.dev/krt/api/v1alpha1"
)

func (r *root) getCommand() *cobra.Command {
	var output string
	cmd := &cobra.Command{
		Use:   "get RUN...",
		Short: "Show Runs",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ns, err := r.namespace()
			if err != nil {
				return err
			}
			c, err := r.client()
			if err != nil {
				return err
			}
			runs := make([]krtv1.Run, 0, len(args))
			for _, name := range args {
				run := krtv1.Run{}
				if err := c.Get(cmd.Context(), client.ObjectKey{Namespace: ns, Name: name}, &run); err != nil {
					return err
				}
				runs = append(runs, run)
			}
			return r.printObjects(output, runs)
		},
	}
	cmd.Flags().StringVarP(&output, "output", "o", "", "output format: wide, yaml or json")
	return cmd
}

func (r *root) listCommand() *cobra.Command {
	var (
		output        string
		allNamespaces bool
		runtime       string
	)
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List Runs, newest last",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := r.client()
			if err != nil {
				return err
			}
			var opts []client.ListOption
			if !allNamespaces {
				ns, err := r.namespace()
				if err != nil {
					return err
				}
				opts = append(opts, client.InNamespace(ns))
			}
			list := &krtv1.RunList{}
			if err := c.List(cmd.Context(), list, opts...); err != nil {
				return err
			}
			runs := list.Items[:0]
			for _, run := range list.Items {
				if runtime == "" || run.Spec.Runtime == runtime {
					runs = append(runs, run)
				}
			}
			if len(runs) == 0 && output == "" {
				fmt.Fprintln(r.Err, "No Runs found.")
				return nil
			}
			return r.printObjects(output, runs)
		},
	}
	cmd.Flags().StringVarP(&output, "output", "o", "", "output format: wide, yaml or json")
	cmd.Flags().BoolVarP(&allNamespaces, "all-namespaces", "A", false, "list Runs in every namespace")
	cmd.Flags().StringVarP(&runtime, "runtime", "r", "", "only Runs on this Runtime")
	return cmd
}
