package cli

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/spf13/cobra"

	krtv1 "krt.dev/krt/api/v1alpha1"
	"krt.dev/krt/sources/folder"
	"krt.dev/krt/workflows/expr"
	"krt.dev/krt/workflows/parse"
	"krt.dev/krt/workflows/validate"
)

// validateCommand checks a workflow folder offline with the controller's
// own parser and validation, for pre-commit hooks and CI.
func (r *root) validateCommand() *cobra.Command {
	var runtimes string
	var runners []string
	cmd := &cobra.Command{
		Use:   "validate DIR [--runners NAME,...] [--runtimes FILE]",
		Short: "Check a folder of workflows offline, as the controller would",
		Long: "Validate builds DIR (with kustomize when it holds a kustomization.yaml), parses every\n" +
			"workflow and tool, and checks step references, cycles and CEL expressions. It prints\n" +
			"one line per problem as file:line: field: reason and exits 1 if there is any.\n" +
			"With --runners it also checks that every step's runner names one of the Clusters\n" +
			"and Runtimes listed, as the controller would resolve it.",
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return r.validate(args[0], runners, runtimes)
		},
	}
	cmd.Flags().StringSliceVar(&runners, "runners", nil, "the Clusters and Runtimes that runners may name (comma-separated)")
	cmd.Flags().StringVar(&runtimes, "runtimes", "",
		"a file of Runtime manifests: tools are also checked to read only Secrets their Runtime allows")
	return cmd
}

func (r *root) validate(dir string, runners []string, runtimesFile string) error {
	files, err := readFolder(dir)
	if err != nil {
		return err
	}
	built, err := folder.Build(files, ".")
	if err != nil {
		return &ExitError{Code: 1, Message: err.Error()}
	}
	env, err := expr.NewEnv()
	if err != nil {
		return err
	}
	var docs []parse.Document
	var errs []*parse.Error
	for _, name := range sortedNames(built) {
		d, e := parse.File(filepath.Join(dir, name), built[name])
		docs = append(docs, d...)
		errs = append(errs, e...)
	}
	errs = append(errs, validate.Set(docs, map[string]*krtv1.ToolSpec{}, env)...)
	if runtimesFile != "" {
		rts, err := readRuntimes(runtimesFile)
		if err != nil {
			return &ExitError{Code: 1, Message: err.Error()}
		}
		errs = append(errs, validate.ToolSecrets(docs, rts)...)
	}
	if runners != nil {
		errs = append(errs, validate.Runners(docs, runners)...)
	}
	for _, e := range errs {
		fmt.Fprintln(r.Out, e.Error())
	}
	if len(errs) > 0 {
		return &ExitError{Code: 1, Message: fmt.Sprintf("%d problems in %s", len(errs), dir)}
	}
	fmt.Fprintf(r.Out, "%s: %d workflows and tools are valid\n", dir, len(docs))
	return nil
}

// readFolder reads the regular files under dir, keyed by slash paths
// relative to it, as a git tree would give them.
func readFolder(dir string) (map[string][]byte, error) {
	files := map[string][]byte{}
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && strings.HasPrefix(d.Name(), ".") && path != dir {
			return filepath.SkipDir
		}
		if !d.Type().IsRegular() {
			return nil
		}
		rel, err := filepath.Rel(dir, path)
		if err != nil {
			return err
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		files[filepath.ToSlash(rel)] = data
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", dir, err)
	}
	return files, nil
}

func sortedNames(m map[string][]byte) []string {
	names := make([]string, 0, len(m))
	for n := range m {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}
