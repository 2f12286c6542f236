package parse_test

import (
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	krtv1 "krt.dev/krt/api/v1alpha1"
	"krt.dev/krt/workflows/expr"
	"krt.dev/krt/workflows/parse"
	"krt.dev/krt/workflows/validate"
)

// Every YAML file under the repository's examples/ parses and validates,
// as the controller and `krt validate` would check it: `krt dev up` seeds
// its git repository from there, so a broken example is a broken first
// run. Each folder is validated as one set, since a workflow may use a Tool
// defined beside it.
func TestRepositoryExamples(t *testing.T) {
	folders := exampleFolders(t, filepath.Join("..", "..", "examples"))
	env, err := expr.NewEnv()
	if err != nil {
		t.Fatal(err)
	}
	for dir, files := range folders {
		t.Run(dir, func(t *testing.T) {
			var docs []parse.Document
			for _, name := range sortedNames(files) {
				got, errs := parse.File(name, files[name])
				for _, e := range errs {
					t.Errorf("%v", e)
				}
				if len(got) == 0 && len(errs) == 0 {
					t.Errorf("%s: no workflow or tool in it", name)
				}
				docs = append(docs, got...)
			}
			for _, e := range validate.Set(docs, map[string]*krtv1.ToolSpec{}, env) {
				t.Errorf("%v", e)
			}
		})
	}
}

// exampleFolders reads every .yaml or .yml file under root, grouped by
// folder and named by their path from the repository's root.
func exampleFolders(t *testing.T, root string) map[string]map[string][]byte {
	t.Helper()
	out := map[string]map[string][]byte{}
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !(strings.HasSuffix(p, ".yaml") || strings.HasSuffix(p, ".yml")) {
			return err
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(filepath.Join(root, ".."), p)
		if err != nil {
			return err
		}
		name := filepath.ToSlash(rel)
		dir := path.Dir(name)
		if out[dir] == nil {
			out[dir] = map[string][]byte{}
		}
		out[dir][name] = data
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(out) == 0 {
		t.Fatalf("no examples under %s", root)
	}
	return out
}

func sortedNames(files map[string][]byte) []string {
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}
