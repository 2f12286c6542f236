package cli

import (
	"github.com/spf13/cobra"

	"krt.dev/krt/cmd/krt/devstack"
)

func (r *root) devCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "dev",
		Short: "Run krt on this machine: API servers, controllers, runtime pools and a git server",
		Long: `dev runs krt locally without containers or a cluster, for trying it and for
developing workflows. It needs the krt checkout (for the CRDs and examples),
the kube-apiserver and etcd that ` + "`make tools`" + ` builds, and the binaries that
` + "`make build`" + ` puts next to krt.`,
	}
	cmd.AddCommand(r.devUpCommand(), r.devDownCommand(), r.devStatusCommand())
	return cmd
}

func (r *root) devUpCommand() *cobra.Command {
	o := devstack.Options{Out: r.Out, Err: r.Err}
	cmd := &cobra.Command{
		Use:   "up [--dir DIR] [--clusters staging,prod] [--no-seed]",
		Short: "Start the dev stack in the foreground; Ctrl-C stops it",
		Long: `up starts, and keeps in the foreground until Ctrl-C or ` + "`krt dev down`" + `:

  - a hub: kube-apiserver and etcd with krt's CRDs and policies, krt-controller,
    and a local runtime pool with the Runtimes bash and python in namespace
    default;
  - one API server per --clusters name, each with krt-controller (scheduler,
    reaper, ttl, runtime) and a pool with a Runtime deployer, registered in
    the hub as a Cluster of that name. staging also gets a Runtime bash with
    the Secret report-token; prod is registered twice more, as prod-eu and
    prod-us (namespaces prod-eu and prod-us, each with a deployer), the
    regions of examples/workflows/promote.yaml. --clusters "" runs the hub
    alone;
  - a git server holding the repository workflows, seeded the first time
    from examples/workflows, which the WorkflowRepository examples reads; a
    push reaches krt at once as a signed webhook.

State lives in --dir: etcd's data (so the next up resumes), logs, the admin
kubeconfig and state.json. A busy --git-port or --webhook-port is replaced by
a free one, with a note.`,
		Example: `  krt dev up
  krt dev up --clusters "" --dir /tmp/krt-dev`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return devstack.Up(o)
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.Dir, "dir", devstack.DefaultDir, "where the stack keeps its state and logs")
	f.StringSliceVar(&o.Clusters, "clusters", []string{"staging", "prod"}, "workload clusters to run besides the hub")
	f.BoolVar(&o.NoSeed, "no-seed", false, "leave a new git repository empty instead of seeding it from examples/workflows")
	f.IntVar(&o.GitPort, "git-port", devstack.DefaultGitPort, "port of the git server; 0 for any")
	f.IntVar(&o.UIPort, "ui-port", devstack.DefaultUIPort, "port of the web UI; 0 for any")
	f.IntVar(&o.WebhookPort, "webhook-port", devstack.DefaultWebhookPort, "port of the webhook receiver; 0 for any")
	return cmd
}

func (r *root) devDownCommand() *cobra.Command {
	o := devstack.DownOptions{Out: r.Out}
	cmd := &cobra.Command{
		Use:   "down [--dir DIR] [--purge]",
		Short: "Stop the running dev stack, or clean up after one that crashed",
		Long: `down asks the running ` + "`krt dev up`" + ` to stop, as Ctrl-C would, and waits until
it and everything it started have ended. With --purge it then removes the
directory, etcd's data included, for a fresh start; that is also the way out
of a damaged directory.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return devstack.Down(o)
		},
	}
	cmd.Flags().StringVar(&o.Dir, "dir", devstack.DefaultDir, "the dev stack's directory")
	cmd.Flags().BoolVar(&o.Purge, "purge", false, "remove the directory and all its state afterwards")
	return cmd
}

// Exit codes of `krt dev status`, for scripts that wait for the stack.
const (
	devNotRunning = 1
	devStarting   = 2
)

func (r *root) devStatusCommand() *cobra.Command {
	var dir string
	cmd := &cobra.Command{
		Use:   "status [--dir DIR]",
		Short: "Show what the dev stack runs",
		Long: `status shows the dev stack's processes, whether each is alive, and its
addresses. It exits 0 when the stack is up and ready, 2 while it starts or
stops, and 1 when it is not running.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			st, err := devstack.ReadStatus(dir)
			if err != nil {
				return err
			}
			st.Print(r.Out, dir)
			switch {
			case st.Ready():
				return nil
			case st.Running:
				return &ExitError{Code: devStarting}
			}
			return &ExitError{Code: devNotRunning}
		},
	}
	cmd.Flags().StringVar(&dir, "dir", devstack.DefaultDir, "the dev stack's directory")
	return cmd
}
