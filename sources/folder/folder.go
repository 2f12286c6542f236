// Package folder turns a workflow folder of a repository revision into the
// YAML files to parse: the folder's own YAML files, or, when the folder is
// a kustomization, what kustomize builds from it. Everything happens in
// memory, on the files already read from the git tree.
package folder

import (
	"fmt"
	"io/fs"
	"path"
	"strings"
	"sync"

	"sigs.k8s.io/kustomize/api/konfig"
	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/kyaml/filesys"
	"sigs.k8s.io/kustomize/kyaml/openapi"
)

// BuiltSuffix ends the name of the one file a kustomize build returns.
const BuiltSuffix = " (built)"

// Build returns the YAML files to parse from dir (e.g. "workflows/" or
// "deploy/wf"). files maps repo-relative slash paths to contents.
//
// Without a kustomization in dir itself, the result is every *.yaml and
// *.yml file under dir, at any depth, leaving out dot-files and anything
// in a dot-directory. The contents are shared with files, not copied.
//
// With a kustomization.yaml (or kustomization.yml, Kustomization) in dir,
// the result is one file, "<dir>/<kustomization file> (built)", holding the
// multi-document output of a kustomize build of dir. The build reads only
// the files given: it never touches the disk or the network. A
// kustomization that names anything remote (a base, a file, a patch) fails
// with a *RefusedError locating the entry, before anything is fetched.
//
// A dir with no files in it yields an empty result, not an error; whether
// that is a mistake is for the caller to say.
func Build(files map[string][]byte, dir string) (map[string][]byte, error) {
	dir = cleanDir(dir)
	if kfile := kustomizationIn(files, dir); kfile != "" {
		return build(files, dir, kfile)
	}
	return yamlFiles(files, dir), nil
}

// HasKustomization reports whether dir holds a kustomization. Its bases
// may live anywhere in the repository, so the caller then needs every
// file, not just dir's.
func HasKustomization(files map[string][]byte, dir string) bool {
	return kustomizationIn(files, cleanDir(dir)) != ""
}

// cleanDir makes dir a clean relative path, "" for the repository root.
func cleanDir(dir string) string {
	dir = path.Clean("/" + strings.TrimSpace(dir))
	return strings.TrimPrefix(dir, "/")
}

// kustomizationIn returns the path of dir's kustomization file, or "".
func kustomizationIn(files map[string][]byte, dir string) string {
	for _, name := range konfig.RecognizedKustomizationFileNames() {
		p := path.Join(dir, name)
		if _, ok := files[p]; ok {
			return p
		}
	}
	return ""
}

// yamlFiles picks the YAML files under dir. Dot-files and dot-directories
// are left out because they hold tooling (.github, .pre-commit-config.yaml),
// not workflows.
func yamlFiles(files map[string][]byte, dir string) map[string][]byte {
	out := map[string][]byte{}
	for name, data := range files {
		rel, ok := under(name, dir)
		if !ok || hidden(rel) {
			continue
		}
		switch strings.ToLower(path.Ext(rel)) {
		case ".yaml", ".yml":
			out[name] = data
		}
	}
	return out
}

// under returns name relative to dir, if it is inside dir.
func under(name, dir string) (string, bool) {
	if dir == "" {
		return name, name != ""
	}
	rel, ok := strings.CutPrefix(name, dir+"/")
	return rel, ok && rel != ""
}

// hidden reports whether any element of a relative path starts with a dot.
func hidden(rel string) bool {
	for _, elem := range strings.Split(rel, "/") {
		if strings.HasPrefix(elem, ".") {
			return true
		}
	}
	return false
}

// build runs kustomize over an in-memory copy of files. Every file goes
// in, not just dir's, because a kustomization may name bases elsewhere in
// the repository.
func build(files map[string][]byte, dir, kfile string) (map[string][]byte, error) {
	mem := filesys.MakeFsInMemory()
	for name, data := range files {
		// Paths from a git tree are always valid; anything else could land
		// outside the intended tree once joined, so it is refused.
		if !fs.ValidPath(name) {
			return nil, fmt.Errorf("kustomize build of %q: invalid file path %q", dir, name)
		}
		if err := mem.WriteFile("/"+name, data); err != nil {
			return nil, fmt.Errorf("kustomize build of %q: %w", dir, err)
		}
	}
	guard := &guardFS{FileSystem: mem, files: files}
	out, err := run(guard, "/"+dir)
	if guard.refused != nil {
		return nil, fmt.Errorf("kustomize build of %q: %w", dir, guard.refused)
	}
	if err != nil {
		return nil, fmt.Errorf("kustomize build of %q: %w", dir, err)
	}
	return map[string][]byte{kfile + BuiltSuffix: out}, nil
}

// buildMu keeps builds apart: kustomize keeps the OpenAPI schema, which a
// kustomization's openapi field replaces, in a global, so one tenant's
// schema must not reach another's build (nor race with it).
var buildMu sync.Mutex

// run is one kustomize build. Kustomize panics on some malformed input;
// that is one bad folder, not a reason to stop the controller.
func run(fsys filesys.FileSystem, dir string) (out []byte, err error) {
	buildMu.Lock()
	defer buildMu.Unlock()
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("kustomize failed: %v", r)
		}
	}()
	openapi.ResetOpenAPI()
	defer openapi.ResetOpenAPI()
	resources, err := krusty.MakeKustomizer(krusty.MakeDefaultOptions()).Run(fsys, dir)
	if err != nil {
		return nil, err
	}
	return resources.AsYaml()
}
