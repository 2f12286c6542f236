package cli

import (
	"context"
	"fmt"

	"sigs.k8s.io/controller-runtime/pkg/client"

	krtv1 "krt.dev/krt/api/v1alpha1"
	"krt.dev/krt/cmd/krt/runops"
)

// runStore: see runops.RunStore, shared with the web UI.
var runStore = runops.RunStore

// archivedLogs prints the Run's archived attempts in order (see
// runops.ArchivedLogs), saying on stderr where they come from.
func (r *root) archivedLogs(ctx context.Context, c client.Reader, run *krtv1.Run) error {
	return runops.ArchivedLogs(ctx, c, run, r.Out, func(msg string) { fmt.Fprintln(r.Err, msg) })
}
