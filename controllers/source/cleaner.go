package source

import (
	"context"
	"time"

	"github.com/go-logr/logr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/predicate"

	krtv1 "krt.dev/krt/api/v1alpha1"
	"krt.dev/krt/sources/git"
)

// cacheCleaner keeps the git cache to what repositories need: the entry of
// a URL goes when the last repository naming it is deleted, entries no
// repository names go once idle (a deletion while krt was down), and the
// whole cache stays under its size, least recently used first.
type cacheCleaner struct {
	cache    *git.Cache
	client   client.Reader
	every    time.Duration
	maxIdle  time.Duration
	maxBytes int64
	gone     chan string
	log      logr.Logger
}

func newCacheCleaner(cache *git.Cache, c client.Reader, opts Options, log logr.Logger) *cacheCleaner {
	every := opts.CacheCleanInterval
	if every <= 0 {
		// Often, so the cache stays near its bound: a pass reads only
		// the entries' directories, each a few packs.
		every = time.Minute
	}
	return &cacheCleaner{cache: cache, client: c, every: every, maxIdle: time.Hour,
		maxBytes: opts.CacheMaxBytes, gone: make(chan string, 64), log: log}
}

// Start cleans until ctx ends.
func (c *cacheCleaner) Start(ctx context.Context) error {
	tick := time.NewTicker(c.every)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case url := <-c.gone:
			c.forget(ctx, url)
		case <-tick.C:
			c.clean(ctx)
		}
	}
}

// NeedLeaderElection: only the leader fetches, so only its cache grows.
func (c *cacheCleaner) NeedLeaderElection() bool { return true }

// deleted notes a deleted repository's URL. When the queue is full, the
// next periodic pass removes the entry once it has been idle.
func (c *cacheCleaner) deleted(url string) {
	if url == "" {
		return
	}
	select {
	case c.gone <- url:
	default:
	}
}

// predicate notes deletions as they pass to the controller.
func (c *cacheCleaner) predicate() predicate.Predicate {
	return predicate.Funcs{DeleteFunc: func(e event.DeleteEvent) bool {
		if repo, ok := e.Object.(*krtv1.WorkflowRepository); ok {
			c.deleted(repo.Spec.URL)
		}
		return true
	}}
}

func (c *cacheCleaner) inUse(ctx context.Context) ([]string, bool) {
	list := &krtv1.WorkflowRepositoryList{}
	if err := c.client.List(ctx, list); err != nil {
		c.log.Error(err, "listing repositories for the git cache")
		return nil, false
	}
	urls := make([]string, 0, len(list.Items))
	for _, r := range list.Items {
		if r.Spec.URL != "" {
			urls = append(urls, r.Spec.URL)
		}
	}
	return urls, true
}

// forget removes a URL's entry unless another repository names it.
func (c *cacheCleaner) forget(ctx context.Context, url string) {
	urls, ok := c.inUse(ctx)
	if !ok {
		return
	}
	for _, u := range urls {
		if u == url {
			return
		}
	}
	if err := c.cache.Remove(ctx, url); err != nil {
		c.log.Error(err, "removing a deleted repository's git cache entry", "entry", git.EntryName(url))
		return
	}
	c.log.Info("removed the git cache entry of a deleted repository", "entry", git.EntryName(url))
}

func (c *cacheCleaner) clean(ctx context.Context) {
	urls, ok := c.inUse(ctx)
	if !ok {
		return
	}
	removed, err := c.cache.Clean(git.Retention{InUse: urls, MaxIdle: c.maxIdle, MaxBytes: c.maxBytes})
	if err != nil {
		c.log.Error(err, "cleaning the git cache")
	}
	for _, e := range removed {
		c.log.Info("removed a git cache entry", "entry", e.Name, "bytes", e.Bytes, "lastUsed", e.LastUsed)
	}
}
