package git

import (
	"context"
	"errors"
	"fmt"
	"io"
	"path"
	"sort"
	"strings"

	gogit "github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/filemode"
	"github.com/go-git/go-git/v5/plumbing/object"
)

// Limits bound what one repository may cost: the files ReadTree returns
// (the controller's memory) and the pack one fetch receives (its disk and
// network).
type Limits struct {
	Files int
	Bytes int64
	// Fetch bounds the pack one fetch may receive; no bound when 0.
	Fetch int64
}

// DefaultLimits are a new Cache's limits.
var DefaultLimits = Limits{Files: 10000, Bytes: 32 << 20, Fetch: 512 << 20}

// ReadTree returns the regular files under dir in commit, recursively, by
// path from the repository root ("workflows/a.yaml"). Symlinks and
// submodules are skipped. The commit must have been fetched.
func (c *Cache) ReadTree(rawURL, commit, dir string) (map[string][]byte, error) {
	dir, err := cleanDir(dir)
	if err != nil {
		return nil, err
	}
	var files map[string][]byte
	err = c.withRepo(rawURL, func(repo *gogit.Repository) error {
		tree, err := commitTree(repo, rawURL, commit)
		if err != nil {
			return err
		}
		if dir != "" {
			if tree, err = subtree(tree, commit, dir); err != nil {
				return err
			}
		}
		files, err = readFiles(tree, dir, c.Limits)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("reading %s at %s: %w", redact(rawURL), short(commit), err)
	}
	return files, nil
}

// withRepo runs fn on the URL's cached repository in the URL's turn, so a
// fetch never writes a pack while fn reads.
func (c *Cache) withRepo(rawURL string, fn func(*gogit.Repository) error) error {
	unlock, err := c.lock(context.Background(), rawURL)
	if err != nil {
		return err
	}
	defer unlock()
	repo, err := c.open(rawURL, false)
	if err != nil {
		return err
	}
	return fn(repo)
}

func commitTree(repo *gogit.Repository, rawURL, commit string) (*object.Tree, error) {
	obj, err := repo.CommitObject(plumbing.NewHash(commit))
	if err != nil {
		return nil, fmt.Errorf("commit %s is not in the cache of %s: %w", short(commit), redact(rawURL), err)
	}
	return obj.Tree()
}

func subtree(tree *object.Tree, commit, dir string) (*object.Tree, error) {
	sub, err := tree.Tree(dir)
	if errors.Is(err, object.ErrDirectoryNotFound) {
		return nil, fmt.Errorf("%w: %q at %s", ErrPathNotFound, dir, short(commit))
	}
	return sub, err
}

func readFiles(tree *object.Tree, dir string, limits Limits) (map[string][]byte, error) {
	files := map[string][]byte{}
	var total int64
	err := tree.Files().ForEach(func(f *object.File) error {
		if !isRegular(f.Mode) {
			return nil
		}
		name := path.Join(dir, f.Name)
		if len(files) == limits.Files {
			return fmt.Errorf("%w: %q holds more than %d files", ErrTooLarge, orRoot(dir), limits.Files)
		}
		if total += f.Size; total > limits.Bytes {
			return fmt.Errorf("%w: %q holds more than %d bytes", ErrTooLarge, orRoot(dir), limits.Bytes)
		}
		data, err := readBlob(f)
		if err != nil {
			return fmt.Errorf("reading %s: %w", name, err)
		}
		files[name] = data
		return nil
	})
	return files, err
}

// ChangedPaths lists the paths whose content or mode differ between two
// commits, sorted; with from empty, every file of to. With limit > 0 it
// returns at most limit paths and says whether there were more.
func (c *Cache) ChangedPaths(rawURL, from, to string, limit int) (paths []string, truncated bool, err error) {
	err = c.withRepo(rawURL, func(repo *gogit.Repository) error {
		toTree, err := commitTree(repo, rawURL, to)
		if err != nil {
			return err
		}
		if from == "" {
			paths, err = allPaths(toTree)
			return err
		}
		fromTree, err := commitTree(repo, rawURL, from)
		if err != nil {
			return err
		}
		paths, err = diffPaths(fromTree, toTree)
		return err
	})
	if err != nil {
		return nil, false, err
	}
	sort.Strings(paths)
	if limit > 0 && len(paths) > limit {
		return paths[:limit], true, nil
	}
	return paths, false, nil
}

// diffPaths names both sides of every change, so a rename lists the old
// path and the new one.
func diffPaths(fromTree, toTree *object.Tree) ([]string, error) {
	changes, err := object.DiffTree(fromTree, toTree)
	if err != nil {
		return nil, err
	}
	seen := map[string]bool{}
	var paths []string
	for _, ch := range changes {
		for _, name := range []string{ch.From.Name, ch.To.Name} {
			if name != "" && !seen[name] {
				seen[name] = true
				paths = append(paths, name)
			}
		}
	}
	return paths, nil
}

func allPaths(tree *object.Tree) ([]string, error) {
	var paths []string
	err := tree.Files().ForEach(func(f *object.File) error {
		paths = append(paths, f.Name)
		return nil
	})
	return paths, err
}

func readBlob(f *object.File) ([]byte, error) {
	r, err := f.Reader()
	if err != nil {
		return nil, err
	}
	defer r.Close()
	return io.ReadAll(io.LimitReader(r, f.Size))
}

func isRegular(m filemode.FileMode) bool {
	return m == filemode.Regular || m == filemode.Executable || m == filemode.Deprecated
}

// cleanDir turns "workflows/", "./workflows" or "/" into a tree path.
func cleanDir(dir string) (string, error) {
	for _, seg := range strings.Split(dir, "/") {
		if seg == ".." {
			return "", fmt.Errorf("path %q leaves the repository", dir)
		}
	}
	return strings.TrimPrefix(path.Clean("/"+dir), "/"), nil
}

func orRoot(dir string) string {
	if dir == "" {
		return "/"
	}
	return dir
}

func short(hash string) string {
	if len(hash) > 12 {
		return hash[:12]
	}
	return hash
}
