package folder

import (
	"fmt"
	"path"
	"regexp"
	"strings"

	"sigs.k8s.io/kustomize/api/types"
	"sigs.k8s.io/yaml"
)

// Kustomize fetches remote bases itself: it clones git URLs with the git
// binary into a temporary directory on the real disk, and reads http(s)
// files with a default HTTP client. An in-memory file system does not stop
// either, and krusty offers no option to, so every kustomization the build
// can reach is checked for remote references before kustomize runs.

// userAtRE is kustomize's test for an SCP-style git URL (user@host:path).
var userAtRE = regexp.MustCompile(`^[a-zA-Z][a-zA-Z0-9-]*@`)

// isRemote reports whether kustomize could treat ref as a URL. It is
// deliberately broader than kustomize's own parser: refusing an odd local
// name is harmless, following a URL is not.
func isRemote(ref string) bool {
	s := strings.ToLower(strings.TrimSpace(ref))
	return strings.Contains(s, "://") ||
		strings.HasPrefix(s, "git::") ||
		strings.HasPrefix(s, "github.com/") ||
		strings.HasPrefix(s, "github.com:") ||
		userAtRE.MatchString(strings.TrimSpace(ref))
}

// checkLocal follows the kustomizations reachable from dir (through
// resources, components, bases and generator/transformer/validator
// directories) and refuses any that names something remote. Only the
// reachable ones are checked, so an unrelated kustomization elsewhere in
// the repository that does use remote bases does not get in the way.
func checkLocal(files map[string][]byte, dir string) error {
	seen := map[string]bool{}
	queue := []string{dir}
	for len(queue) > 0 {
		d := queue[0]
		queue = queue[1:]
		if seen[d] {
			continue
		}
		seen[d] = true
		kfile := kustomizationIn(files, d)
		if kfile == "" {
			continue // a plain file or a directory of resources
		}
		var k types.Kustomization
		if err := yaml.Unmarshal(files[kfile], &k); err != nil {
			return fmt.Errorf("%s: %w", kfile, err)
		}
		for _, ref := range fileRefs(&k) {
			if isRemote(ref) {
				return fmt.Errorf("%s: remote reference %q is not allowed; only files of the repository can be built", kfile, ref)
			}
		}
		for _, ref := range dirRefs(&k) {
			queue = append(queue, path.Join(d, ref))
		}
	}
	return nil
}

// dirRefs lists the entries that may name another kustomization.
func dirRefs(k *types.Kustomization) []string {
	var out []string
	for _, list := range [][]string{k.Resources, k.Components, k.Bases, k.Generators, k.Transformers, k.Validators} {
		out = append(out, singleLine(list)...)
	}
	return out
}

// fileRefs lists every entry kustomize loads a file or directory from.
func fileRefs(k *types.Kustomization) []string {
	out := dirRefs(k)
	out = append(out, k.Crds...)
	out = append(out, k.Configurations...)
	out = append(out, k.OpenAPI["path"])
	for _, p := range k.PatchesStrategicMerge {
		out = append(out, singleLine([]string{string(p)})...)
	}
	for _, patches := range [][]types.Patch{k.Patches, k.PatchesJson6902} {
		for _, p := range patches {
			out = append(out, p.Path)
		}
	}
	for _, r := range k.Replacements {
		out = append(out, r.Path)
	}
	for _, g := range k.ConfigMapGenerator {
		out = append(out, sourceRefs(g.KvPairSources)...)
	}
	for _, g := range k.SecretGenerator {
		out = append(out, sourceRefs(g.KvPairSources)...)
	}
	return out
}

// sourceRefs lists the files of a generator; file sources may be written
// "key=path".
func sourceRefs(s types.KvPairSources) []string {
	out := append([]string{s.EnvSource}, s.EnvSources...)
	for _, f := range s.FileSources {
		out = append(out, f) // whole, in case "=" belongs to a URL
		if _, p, ok := strings.Cut(f, "="); ok {
			out = append(out, p)
		}
	}
	return out
}

// singleLine drops inline YAML (generator configs, patches written in
// place), which holds no path.
func singleLine(list []string) []string {
	var out []string
	for _, s := range list {
		if !strings.Contains(s, "\n") {
			out = append(out, s)
		}
	}
	return out
}
