// Package cli implements the krt command line.
package cli

import (
	"errors"
	"fmt"
	"io"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"krt.dev/krt/api/scheme"
)

// Streams are where a command reads and writes.
type Streams struct {
	In       io.Reader
	Out, Err io.Writer
}

// root holds what every command shares: kubectl's connection flags.
type root struct {
	Streams
	flags *genericclioptions.ConfigFlags
	// testClient, when set, is the client instead of one from the flags,
	// so commands can be tested without an API server.
	testClient client.WithWatch
}

// ExitError ends krt with a given exit code, after its message (if any)
// has been printed.
type ExitError struct {
	Code    int
	Message string
}

func (e *ExitError) Error() string { return e.Message }

// Main runs krt and returns its exit code.
func Main(args []string, in io.Reader, out, errOut io.Writer) int {
	return execute(NewCommand(Streams{In: in, Out: out, Err: errOut}), args, errOut)
}

// execute runs a krt command tree and turns its error into an exit code.
func execute(cmd *cobra.Command, args []string, errOut io.Writer) int {
	cmd.SetArgs(args)
	err := cmd.Execute()
	var ee *ExitError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &ee):
		if ee.Message != "" {
			fmt.Fprintln(errOut, "error:", ee.Message)
		}
		return ee.Code
	default:
		fmt.Fprintln(errOut, "error:", err)
		return 1
	}
}

// NewCommand builds the krt command tree.
func NewCommand(s Streams) *cobra.Command {
	return (&root{Streams: s, flags: genericclioptions.NewConfigFlags(true)}).command()
}

func (r *root) command() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "krt",
		Short: "Run workflow steps on warm runtime pods",
		Long: `krt runs scripts on warm runtime pods and drives krt's workflows, with
kubectl's conventions: --kubeconfig, --context and -n, and -o wide, yaml or
json on every command that prints objects.

Exit codes: 0 on success and 1 on an error, except where a command waits for
a result and passes it on:

  krt run --wait         0 succeeded, the Run's exit code when it failed,
                         124 timed out, 130 cancelled
  krt wf trigger --wait  0 succeeded, 1 failed, 130 cancelled
  krt dev status         0 ready, 2 starting or stopping, 1 not running

Shell completion, of commands and of the names of Runs, Workflows and
WorkflowRuns on the API server: see krt completion --help.`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	cmd.SetOut(r.Out)
	cmd.SetErr(r.Err)
	r.flags.AddFlags(cmd.PersistentFlags())
	_ = cmd.RegisterFlagCompletionFunc("namespace", r.complete(0, listNamespaces))
	cmd.AddCommand(r.runCommand(), r.getCommand(), r.listCommand(), r.logsCommand(), r.cancelCommand(),
		r.validateCommand(), r.wfCommand(), r.devCommand(), r.uiCommand(), r.versionCommand())
	return cmd
}

func (r *root) restConfig() (*rest.Config, error) {
	cfg, err := r.flags.ToRESTConfig()
	if err != nil {
		return nil, err
	}
	cfg.UserAgent = "krt-cli"
	return cfg, nil
}

func (r *root) client() (client.WithWatch, error) {
	if r.testClient != nil {
		return r.testClient, nil
	}
	cfg, err := r.restConfig()
	if err != nil {
		return nil, err
	}
	return client.NewWithWatch(cfg, client.Options{Scheme: scheme.New()})
}

func (r *root) namespace() (string, error) {
	ns, _, err := r.flags.ToRawKubeConfigLoader().Namespace()
	return ns, err
}
