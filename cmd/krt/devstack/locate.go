package devstack

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// paths are what the dev stack runs and reads, found before anything
// starts so that a missing piece is reported at once.
type paths struct {
	// Root is the krt checkout: the CRDs, policies and example workflows
	// are read from it rather than embedded, so the dev stack always runs
	// the tree's current definitions.
	Root string
	// Tools holds kube-apiserver and etcd.
	Tools string
	// Controller, Runtimed and KrtRuntime are krt's own binaries.
	Controller, Runtimed, KrtRuntime string
}

func locate() (paths, error) {
	var p paths
	root, err := repoRoot()
	if err != nil {
		return p, err
	}
	p.Root = root
	if p.Tools, err = toolsDir(root); err != nil {
		return p, err
	}
	exe, err := os.Executable()
	if err != nil {
		return p, err
	}
	if exe, err = filepath.EvalSymlinks(exe); err != nil {
		return p, err
	}
	binDir := filepath.Dir(exe)
	found := map[string]*string{"krt-controller": &p.Controller, "runtimed": &p.Runtimed, "krt-runtime": &p.KrtRuntime}
	for _, name := range []string{"krt-controller", "runtimed", "krt-runtime"} {
		path := filepath.Join(binDir, name)
		if !executable(path) {
			return p, fmt.Errorf("%s not found next to krt (in %s): run `make build`", name, binDir)
		}
		*found[name] = path
	}
	return p, nil
}

// repoRoot walks up from the working directory, then from the krt
// binary (bin/krt lives in the checkout), to krt's go.mod.
func repoRoot() (string, error) {
	var starts []string
	if wd, err := os.Getwd(); err == nil {
		starts = append(starts, wd)
	}
	if exe, err := os.Executable(); err == nil {
		if exe, err = filepath.EvalSymlinks(exe); err == nil {
			starts = append(starts, filepath.Dir(exe))
		}
	}
	for _, dir := range starts {
		if root := findGoMod(dir); root != "" {
			return root, nil
		}
	}
	return "", fmt.Errorf("krt dev needs the krt source tree (for config/crd/bases and examples/workflows): " +
		"run it inside the krt repository, or use the krt built there (bin/krt)")
}

func findGoMod(dir string) string {
	for {
		data, err := os.ReadFile(filepath.Join(dir, "go.mod"))
		if err == nil && strings.HasPrefix(string(data), "module krt.dev/krt\n") {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return ""
		}
		dir = parent
	}
}

// toolsDir finds kube-apiserver and etcd where `make tools` puts them
// (bin/, linked from a cache under ~/.cache/krt/tools/<pins>), or where
// the user points $KRT_TOOLS or envtest's $KUBEBUILDER_ASSETS.
func toolsDir(root string) (string, error) {
	var dirs []string
	for _, env := range []string{"KRT_TOOLS", "KUBEBUILDER_ASSETS"} {
		if v := os.Getenv(env); v != "" {
			dirs = append(dirs, v)
		}
	}
	dirs = append(dirs, filepath.Join(root, "bin"))
	if cache, err := os.UserCacheDir(); err == nil {
		base := filepath.Join(cache, "krt", "tools")
		dirs = append(dirs, base)
		pinned, _ := filepath.Glob(filepath.Join(base, "*"))
		dirs = append(dirs, pinned...)
	}
	for _, d := range dirs {
		if executable(filepath.Join(d, "kube-apiserver")) && executable(filepath.Join(d, "etcd")) {
			return d, nil
		}
	}
	return "", fmt.Errorf("kube-apiserver not found in %s: run `make tools`", strings.Join(dirs, ", "))
}

func executable(path string) bool {
	info, err := os.Stat(path)
	return err == nil && !info.IsDir() && info.Mode()&0o111 != 0
}
