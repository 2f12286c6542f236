package cli

import (
	"fmt"

	"github.com/spf13/cobra"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	krtv1 "krt.dev/krt/api/v1alpha1"
)

func (r *root) cancelCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "cancel RUN...",
		Short: "Ask Runs to stop",
		Long: `Cancel sets spec.cancelRequested. A Pending Run ends at once; a Running one has
its whole process group stopped (SIGTERM, then SIGKILL) and ends as Cancelled.`,
		Args:              cobra.MinimumNArgs(1),
		ValidArgsFunction: r.complete(0, listRuns(runUnfinished)),
		RunE: func(cmd *cobra.Command, args []string) error {
			ns, err := r.namespace()
			if err != nil {
				return err
			}
			c, err := r.client()
			if err != nil {
				return err
			}
			patch := client.RawPatch(types.MergePatchType, []byte(`{"spec":{"cancelRequested":true}}`))
			for _, name := range args {
				run := &krtv1.Run{}
				run.Namespace, run.Name = ns, name
				if err := c.Patch(cmd.Context(), run, patch); err != nil {
					return err
				}
				fmt.Fprintf(r.Out, "run.krt.dev/%s cancel requested\n", name)
			}
			return nil
		},
	}
}
