package cli

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	krtv1 "krt.dev/krt/api/v1alpha1"
)

type runOptions struct {
	runtime    string
	language   string
	file       string
	env        []string
	secretEnv  []string
	timeout    time.Duration
	attempts   int32
	wait       bool
	output     *outputFormat
	nameprefix string
}

func (r *root) runCommand() *cobra.Command {
	o := &runOptions{}
	cmd := &cobra.Command{
		Use:   "run [-r RUNTIME] [--wait] [--env K=V] [--timeout D] (-f FILE | -- SCRIPT...)",
		Short: "Run a script on a warm runtime pod",
		Long: `Run creates a Run: a script executed by a warm runtime pod's bash or python3.

The script is the words after --, joined by spaces, or the contents of -f FILE
(a .py file runs with python). With --wait, krt shows progress on stderr,
streams the Run's output to stdout, and exits with the Run's result:

  0    the Run succeeded
  N    the Run failed with exit code N (1 when it failed without one)
  124  the Run timed out
  130  the Run was cancelled

Without --wait it prints the Run's name as soon as it is created; -o name
prints only run.krt.dev/NAME, for scripts.`,
		Example: `  krt run -- echo hello
  krt run -r python --wait -f check.py
  krt run --wait --timeout 30s --env TARGET=staging -- './deploy.sh "$TARGET"'`,
		RunE: func(cmd *cobra.Command, args []string) error {
			return r.run(cmd.Context(), o, args)
		},
	}
	f := cmd.Flags()
	f.StringVarP(&o.runtime, "runtime", "r", "bash", "the Runtime to run on")
	f.StringVarP(&o.language, "language", "l", "", "bash or python (default: from the file's extension, else the runtime's default)")
	f.StringVarP(&o.file, "filename", "f", "", "read the script from this file")
	f.StringArrayVarP(&o.env, "env", "e", nil, "environment variable K=V (repeatable)")
	f.StringArrayVar(&o.secretEnv, "secret-env", nil, "environment variable from a Secret, K=SECRET/KEY (repeatable)")
	f.DurationVar(&o.timeout, "timeout", 0, "stop the Run after this long")
	f.Int32Var(&o.attempts, "attempts", 0, "attempts in all, when the Run's pod is lost")
	f.BoolVarP(&o.wait, "wait", "w", false, "wait for the Run to finish, streaming its output")
	o.output = addOutputFlag(cmd, outName, outWide, outYAML, outJSON)
	_ = cmd.RegisterFlagCompletionFunc("runtime", r.complete(0, listRuntimes))
	_ = cmd.RegisterFlagCompletionFunc("language", cobra.FixedCompletions(
		[]string{string(krtv1.LanguageBash), string(krtv1.LanguagePython)}, cobra.ShellCompDirectiveNoFileComp))
	f.StringVar(&o.nameprefix, "name-prefix", "run-", "prefix of the generated Run name")
	return cmd
}

func (r *root) run(ctx context.Context, o *runOptions, args []string) error {
	run, err := o.build(args)
	if err != nil {
		return err
	}
	ns, err := r.namespace()
	if err != nil {
		return err
	}
	run.Namespace = ns
	c, err := r.client()
	if err != nil {
		return err
	}
	if err := c.Create(ctx, run); err != nil {
		return err
	}
	if !o.wait {
		return r.printCreated(run, o.output.value)
	}
	fmt.Fprintf(r.Err, "run.krt.dev/%s created\n", run.Name)
	return r.waitAndFollow(ctx, c, run)
}

// build turns flags and arguments into a Run.
func (o *runOptions) build(args []string) (*krtv1.Run, error) {
	script := strings.Join(args, " ")
	lang := krtv1.Language(o.language)
	switch {
	case o.file != "" && len(args) > 0:
		return nil, fmt.Errorf("give the script either after -- or with -f, not both")
	case o.file != "":
		data, err := os.ReadFile(o.file)
		if err != nil {
			return nil, err
		}
		script = string(data)
		if lang == "" && filepath.Ext(o.file) == ".py" {
			lang = krtv1.LanguagePython
		}
	case strings.TrimSpace(script) == "":
		return nil, fmt.Errorf("nothing to run: give a script after -- or a file with -f")
	}
	if lang != "" && lang != krtv1.LanguageBash && lang != krtv1.LanguagePython {
		return nil, fmt.Errorf("--language %q: want bash or python", lang)
	}
	run := &krtv1.Run{
		ObjectMeta: metav1.ObjectMeta{GenerateName: o.nameprefix},
		Spec:       krtv1.RunSpec{Runtime: o.runtime, Language: lang, Script: script},
	}
	for _, kv := range o.env {
		k, v, ok := strings.Cut(kv, "=")
		if !ok {
			return nil, fmt.Errorf("--env %q: want NAME=VALUE", kv)
		}
		run.Spec.Env = append(run.Spec.Env, krtv1.EnvVar{Name: k, Value: v})
	}
	for _, kv := range o.secretEnv {
		k, ref, ok := strings.Cut(kv, "=")
		secret, key, ok2 := strings.Cut(ref, "/")
		if !ok || !ok2 {
			return nil, fmt.Errorf("--secret-env %q: want NAME=SECRET/KEY", kv)
		}
		run.Spec.SecretEnv = append(run.Spec.SecretEnv, krtv1.SecretEnvVar{Name: k, SecretKeyRef: krtv1.SecretKeySelector{Name: secret, Key: key}})
	}
	if o.timeout > 0 {
		run.Spec.Timeout = &metav1.Duration{Duration: o.timeout}
	}
	if o.attempts > 0 {
		run.Spec.RetryPolicy = &krtv1.RetryPolicy{MaxAttempts: o.attempts}
	}
	return run, nil
}

func (r *root) printCreated(run *krtv1.Run, output string) error {
	switch output {
	case "":
		fmt.Fprintf(r.Out, "run.krt.dev/%s created\n", run.Name)
		return nil
	case "name":
		fmt.Fprintf(r.Out, "run.krt.dev/%s\n", run.Name)
		return nil
	}
	return runPrinter.print(r.Out, printOptions{output: output}, []krtv1.Run{*run}, time.Now())
}
