package runtimeserver

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	runtimev1 "krt.dev/krt/api/runtime/v1"
)

// secretsDir is the execution's private directory of secret files.
func secretsDir(dir string) string { return filepath.Join(dir, "secrets") }

// safeName keeps a secret file's name (and a Secret's keys) inside its
// directory.
var safeName = regexp.MustCompile(`^[A-Za-z0-9]([-_.A-Za-z0-9]*[A-Za-z0-9])?$`)

// writeSecrets writes each Secret's keys, mode 0400, under the execution's
// own 0700 directory: a Secret of one key is a file named for the volume,
// one of several keys a directory of them. It returns the real path of
// each mount path, for rewrite.
func writeSecrets(dir string, files []*runtimev1.SecretFile) (map[string]string, error) {
	root := secretsDir(dir)
	if err := os.Mkdir(root, 0o700); err != nil {
		return nil, fmt.Errorf("creating the secrets directory: %w", err)
	}
	paths := make(map[string]string, len(files))
	for _, sf := range files {
		if !safeName.MatchString(sf.GetName()) {
			return nil, fmt.Errorf("secret file name %q is not a plain file name", sf.GetName())
		}
		real := filepath.Join(root, sf.GetName())
		if err := writeSecret(real, sf.GetFiles()); err != nil {
			return nil, fmt.Errorf("secret file %s: %w", sf.GetName(), err)
		}
		if mp := sf.GetMountPath(); mp != "" {
			paths[filepath.Clean(mp)] = real
		}
	}
	return paths, nil
}

func writeSecret(path string, files map[string][]byte) error {
	if len(files) == 1 {
		for _, v := range files {
			return writeFile(path, v)
		}
	}
	if err := os.Mkdir(path, 0o700); err != nil {
		return err
	}
	for k, v := range files {
		if !safeName.MatchString(k) {
			return fmt.Errorf("key %q is not a plain file name", k)
		}
		if err := writeFile(filepath.Join(path, k), v); err != nil {
			return err
		}
	}
	return nil
}

// writeFile creates the file 0400 from the start: it is never readable by
// others, not even for a moment.
func writeFile(path string, data []byte) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o400)
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// rewritePath points a value that names a mount path (or a path under it)
// at the real file; of nested mount paths the deepest wins.
func rewritePath(v string, paths map[string]string) string {
	best, out := "", v
	for mount, real := range paths {
		if len(mount) <= len(best) {
			continue
		}
		if v == mount {
			best, out = mount, real
		} else if rest, ok := strings.CutPrefix(v, mount+"/"); ok {
			best, out = mount, filepath.Join(real, rest)
		}
	}
	return out
}

// rewriteAll applies rewritePath to every element.
func rewriteAll(vs []string, paths map[string]string) []string {
	if len(paths) == 0 {
		return vs
	}
	out := make([]string, len(vs))
	for i, v := range vs {
		out[i] = rewritePath(v, paths)
	}
	return out
}

// removeSecrets deletes the secret files once the process is gone; Forget
// removes the whole directory again.
func removeSecrets(dir string) { _ = os.RemoveAll(secretsDir(dir)) }
