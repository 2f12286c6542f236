// Package git fetches workflow repositories with go-git for the source
// controller.
//
// A Cache keeps one bare repository per URL on disk, shared by every
// WorkflowRepository that names the URL. A reconcile costs one ls-remote
// (Resolve) while the revision is unchanged; only a new revision fetches,
// and then only the objects the cache lacks. Files are read straight from
// the commit's tree: nothing is ever checked out.
package git

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"

	gogit "github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/config"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/transport"
)

// Cache is the on-disk cache of remote repositories. It is safe for
// concurrent use; operations on one URL take turns.
type Cache struct {
	// Limits bound ReadTree; set them before first use.
	Limits Limits

	root  string
	mu    sync.Mutex
	locks map[string]chan struct{}
}

// NewCache keeps its repositories under root, creating it.
func NewCache(root string) (*Cache, error) {
	if err := os.MkdirAll(root, 0o700); err != nil {
		return nil, fmt.Errorf("git cache: %w", err)
	}
	return &Cache{Limits: DefaultLimits, root: root, locks: map[string]chan struct{}{}}, nil
}

// EntryName is the name of a URL's repository in the cache directory: a
// hash, since a URL is no file name.
func EntryName(rawURL string) string {
	sum := sha256.Sum256([]byte(rawURL))
	return hex.EncodeToString(sum[:16])
}

func (c *Cache) dir(rawURL string) string {
	return filepath.Join(c.root, EntryName(rawURL))
}

// lock takes the URL's turn, or gives up when ctx ends. A channel rather
// than a mutex, so waiting can be abandoned. Turns are by cache entry, so
// cleaning, which knows only entries, takes the same turns.
func (c *Cache) lock(ctx context.Context, rawURL string) (unlock func(), err error) {
	ch := c.turn(EntryName(rawURL))
	select {
	case ch <- struct{}{}:
		return func() { c.touch(rawURL); <-ch }, nil
	case <-ctx.Done():
		return nil, fmt.Errorf("waiting for another fetch of %s: %w", redact(rawURL), ctx.Err())
	}
}

func (c *Cache) turn(entry string) chan struct{} {
	c.mu.Lock()
	defer c.mu.Unlock()
	ch, ok := c.locks[entry]
	if !ok {
		ch = make(chan struct{}, 1)
		c.locks[entry] = ch
	}
	return ch
}

// open opens the URL's repository, creating it when create is set. It is
// opened per call rather than kept, so idle URLs hold no memory.
func (c *Cache) open(rawURL string, create bool) (*gogit.Repository, error) {
	dir := c.dir(rawURL)
	repo, err := gogit.PlainOpen(dir)
	switch {
	case err == nil:
		return repo, nil
	case !create && errors.Is(err, gogit.ErrRepositoryNotExists):
		return nil, fmt.Errorf("%s has not been fetched yet", redact(rawURL))
	case !create:
		return nil, fmt.Errorf("git cache for %s: %w", redact(rawURL), err)
	}
	// The cache is only a copy: whatever a crash left half made is
	// dropped and fetched again.
	if err := os.RemoveAll(dir); err != nil {
		return nil, fmt.Errorf("git cache for %s: %w", redact(rawURL), err)
	}
	repo, err = gogit.PlainInit(dir, true)
	if err != nil {
		return nil, fmt.Errorf("git cache for %s: %w", redact(rawURL), err)
	}
	return repo, nil
}

// Fetch makes r.Commit available in the cache. When the cache already has
// it, Fetch does not touch the network; otherwise it fetches r.Ref (or all
// branches and tags, when only a commit is known), sending only the objects
// the cache lacks.
func (c *Cache) Fetch(ctx context.Context, rawURL string, auth *Auth, r Resolved) error {
	if r.Commit == "" {
		return errors.New("fetch: no commit to fetch")
	}
	method, err := auth.method(ctx, rawURL)
	if err != nil {
		return err
	}
	unlock, err := c.lock(ctx, rawURL)
	if err != nil {
		return err
	}
	// The turn is released when the fetch ends, not when ctx does: a fetch
	// still running in the background must not share the repository. An
	// SSH connection ends at ctx's deadline (sshDeadline), and an HTTP
	// one with ctx, so the background fetch ends too.
	_, err = withContext(ctx, func() (struct{}, error) {
		defer unlock()
		err := c.fetch(ctx, rawURL, auth, method, r)
		if err != nil {
			c.dropPartialPacks(rawURL)
		}
		return struct{}{}, err
	})
	if err != nil && ctx.Err() != nil {
		return remoteError("fetch", rawURL, auth, ctx.Err())
	}
	return err
}

func (c *Cache) fetch(ctx context.Context, rawURL string, auth *Auth, method transport.AuthMethod, r Resolved) error {
	if _, err := c.open(rawURL, true); err != nil {
		return err
	}
	repo, err := c.openLimited(rawURL)
	if err != nil {
		return err
	}
	want := plumbing.NewHash(r.Commit)
	if _, err := repo.CommitObject(want); err == nil {
		return nil
	}
	remote, err := repo.CreateRemoteAnonymous(&config.RemoteConfig{Name: "anonymous", URLs: []string{rawURL}})
	if err != nil {
		return err
	}
	err = remote.FetchContext(ctx, &gogit.FetchOptions{
		RefSpecs:     refSpecs(r.Ref),
		Auth:         method,
		Tags:         gogit.NoTags,
		Force:        true,
		ProxyOptions: sshDeadline(ctx, rawURL),
	})
	if errors.Is(err, ErrTooLarge) {
		return fmt.Errorf("fetch %s: %w", redact(rawURL), err)
	}
	if err != nil && !errors.Is(err, gogit.NoErrAlreadyUpToDate) {
		return remoteError("fetch", rawURL, auth, atDeadline(ctx, err))
	}
	if _, err := repo.CommitObject(want); err != nil {
		return fmt.Errorf("fetch %s: commit %s is not in %s any more; it may have moved since it was resolved",
			redact(rawURL), r.Commit, orAll(r.Ref))
	}
	return nil
}

// refSpecs mirror the remote's names, so the cache's refs give the next
// fetch its "haves" and it sends only what is new.
func refSpecs(ref string) []config.RefSpec {
	if ref == "" {
		return []config.RefSpec{"+refs/heads/*:refs/heads/*", "+refs/tags/*:refs/tags/*"}
	}
	return []config.RefSpec{config.RefSpec("+" + ref + ":" + ref)}
}

func orAll(ref string) string {
	if ref == "" {
		return "any branch or tag"
	}
	return ref
}
