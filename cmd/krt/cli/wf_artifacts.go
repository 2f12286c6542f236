package cli

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/spf13/cobra"
	apierrors "k8s.io/apimachinery/pkg/api/errors"

	krtv1 "krt.dev/krt/api/v1alpha1"
	"krt.dev/krt/controllers/cluster"
	"krt.dev/krt/runtimed/archive"
	"krt.dev/krt/runtimed/store"
	"krt.dev/krt/workflows/dag"
)

func (r *root) wfArtifactsCommand() *cobra.Command {
	var (
		opts cluster.KubeconfigOptions
		dir  string
	)
	cmd := &cobra.Command{
		Use:   "artifacts RUN [STEP]",
		Short: "List a run's artifacts, or download them with -o",
		Long: `Artifacts lists the artifacts the nodes of a WorkflowRun uploaded (with STEP,
that step's nodes only): node, name, digest, size and where it is stored.

With -o DIR it downloads each into DIR/<node>/<name>/, unpacked. Each is
checked against its digest as it is read, and a mismatch fails the command.

The download is yours, not krt's: krt reads the node's Runtime, its
ArtifactStore and the store's credentials Secret with your kubeconfig, so
it needs "get" on all three in the Run's namespace; RBAC decides who may
read a store. A node that ran in a remote cluster is read through that
Cluster's kubeconfig Secret in the hub, as krt wf logs does.`,
		Args:              cobra.RangeArgs(1, 2),
		ValidArgsFunction: r.complete(1, listWorkflowRuns(nil)),
		RunE: func(cmd *cobra.Command, args []string) error {
			step := ""
			if len(args) == 2 {
				step = args[1]
			}
			return r.wfArtifacts(cmd.Context(), args[0], step, dir, opts)
		},
	}
	cmd.Flags().StringVarP(&dir, "output-dir", "o", "", "download and unpack the artifacts into this folder")
	opts.BindFlags(cmd.Flags())
	return cmd
}

func (r *root) wfArtifacts(ctx context.Context, name, step, dir string, opts cluster.KubeconfigOptions) error {
	s, err := r.wfSession()
	if err != nil {
		return err
	}
	wr, err := s.run(ctx, name)
	if err != nil {
		return err
	}
	var nodes []krtv1.NodeStatus
	for _, n := range wr.Status.Nodes {
		if len(n.Artifacts) > 0 && (step == "" || dag.StepOf(n.Name) == step) {
			nodes = append(nodes, n)
		}
	}
	if len(nodes) == 0 {
		fmt.Fprintf(r.Err, "Run %s has no artifacts%s yet.\n", name, ofStep(step))
		return nil
	}
	if dir == "" {
		return printArtifacts(r.Out, nodes)
	}
	hub, err := r.hubLogSource()
	if err != nil {
		return err
	}
	sources := map[string]logSource{"": hub}
	for _, n := range nodes {
		if err := r.downloadNode(ctx, s, wr, sources, n, dir, opts); err != nil {
			return fmt.Errorf("node %s: %w", n.Name, err)
		}
	}
	return nil
}

func ofStep(step string) string {
	if step == "" {
		return ""
	}
	return " from step " + step
}

func printArtifacts(w io.Writer, nodes []krtv1.NodeStatus) error {
	rows := [][]string{{"NODE", "NAME", "DIGEST", "SIZE", "URI"}}
	for _, n := range nodes {
		for _, a := range n.Artifacts {
			rows = append(rows, []string{n.Name, a.Name, a.Digest, strconv.FormatInt(a.Size, 10), orDash(a.URI)})
		}
	}
	return newGrid(rows).write(w, rows...)
}

// downloadNode fetches a node's artifacts from the store of its Run's
// Runtime, in the cluster it ran in.
func (r *root) downloadNode(ctx context.Context, s *wfSession, wr *krtv1.WorkflowRun, sources map[string]logSource, n krtv1.NodeStatus,
	dir string, opts cluster.KubeconfigOptions) error {
	src, run, err := nodeRun(ctx, s, wr, sources, n, opts)
	if apierrors.IsNotFound(err) && run != nil {
		err = nil // the store still holds what the deleted Run uploaded
	}
	if err != nil {
		return err
	}
	_, st, err := runStore(ctx, src.c, run)
	if err != nil {
		return err
	}
	defer func() { _ = st.Close() }()
	for _, a := range n.Artifacts {
		dest := filepath.Join(dir, safeName(n.Name), safeName(a.Name))
		if err := download(ctx, st, a, dest); err != nil {
			return fmt.Errorf("artifact %s: %w", a.Name, err)
		}
		fmt.Fprintf(r.Out, "%s/%s -> %s\n", n.Name, a.Name, dest)
	}
	return nil
}

// download unpacks one artifact into dest, which must not hold files yet:
// Unpack never replaces one.
func download(ctx context.Context, st *store.Store, a krtv1.ArtifactRef, dest string) error {
	rc, _, err := st.GetBlob(ctx, a.Digest)
	if err != nil {
		return err
	}
	defer rc.Close()
	if err := os.MkdirAll(dest, 0o755); err != nil {
		return err
	}
	root, err := os.OpenRoot(dest)
	if err != nil {
		return err
	}
	defer root.Close()
	if _, err := archive.Unpack(rc, root, archive.UnpackOptions{}); err != nil {
		return err
	}
	// GetBlob checks the digest at the end of the stream: read it all, so
	// a mismatch after the archive's end is not missed.
	_, err = io.Copy(io.Discard, rc)
	return err
}

// safeName keeps a node's or artifact's name one folder deep.
func safeName(s string) string {
	return strings.NewReplacer("/", "_", `\`, "_", "..", "_").Replace(s)
}
