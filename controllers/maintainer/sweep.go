// Package maintainer is the Runtime Maintainer's store side: Sweep deletes
// the artifacts, caches and logs that are past their retention or whose
// WorkflowRun is gone, then the blobs that nothing references any more.
//
// Sweep keeps no state between runs and deletes only what its rules select,
// so it is idempotent, and several replicas may run it at once: a key that
// another sweeper deleted first is skipped.
package maintainer

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"krt.dev/krt/runtimed/store"
)

// Retention is how long each kind of object is kept after it was written.
// Zero keeps that kind forever (it is still deleted when its WorkflowRun is
// gone).
type Retention struct {
	Artifacts, Caches, Logs time.Duration
}

// SweepOptions are one sweep's clock and rules.
type SweepOptions struct {
	Now       time.Time // zero: time.Now()
	Retention Retention
	// Exists says whether a WorkflowRun still exists. Nil: never delete for
	// that reason.
	Exists func(ctx context.Context, namespace, workflowRun string) (bool, error)
	// BlobGrace protects what was written recently from a sweep that began
	// before it was referenced: a blob younger than this is kept even if
	// unreferenced, and a ref or log younger than this is kept even if its
	// WorkflowRun looks gone (the WorkflowRun may not be in a cache yet).
	BlobGrace time.Duration
}

// SweepResult counts what one sweep deleted and kept.
type SweepResult struct {
	Refs, Caches, Memos, Logs, Blobs int // deleted
	BlobsKept                        int // referenced, or within BlobGrace
	// Abandoned temporaries and multipart uploads, older than BlobGrace.
	Abandoned int
	// Malformed records are not JSON of their kind: they reference nothing,
	// and are left for retention to delete.
	Malformed []string
}

// Sweep runs one sweep over s. An error from the store or from Exists stops
// it before any blob is deleted, so that a partial mark never frees a blob
// that is still referenced.
func Sweep(ctx context.Context, s *store.Store, opts SweepOptions) (SweepResult, error) {
	if opts.Now.IsZero() {
		opts.Now = time.Now()
	}
	sw := &sweeper{s: s, o: opts, exists: map[string]bool{}}
	steps := []func(context.Context) error{sw.refs, sw.records("cache/", opts.Retention.Caches, &sw.res.Caches),
		sw.records("memo/", opts.Retention.Caches, &sw.res.Memos), sw.logs, sw.blobs, sw.abandoned}
	for _, step := range steps {
		if err := step(ctx); err != nil {
			return sw.res, err
		}
	}
	return sw.res, nil
}

type sweeper struct {
	s      *store.Store
	o      SweepOptions
	exists map[string]bool // "ns/workflowRun": Exists' answer, asked once per sweep
	res    SweepResult
}

// expired: older than retention, when there is one.
func (sw *sweeper) expired(o store.Object, retention time.Duration) bool {
	return retention > 0 && sw.o.Now.Sub(o.ModTime) > retention
}

// gone: o's WorkflowRun no longer exists, and o is old enough that this is
// not a WorkflowRun the caller has not seen yet.
func (sw *sweeper) gone(ctx context.Context, o store.Object, namespace, workflowRun string) (bool, error) {
	if sw.o.Exists == nil || namespace == "" || workflowRun == "" || sw.o.Now.Sub(o.ModTime) <= sw.o.BlobGrace {
		return false, nil
	}
	id := namespace + "/" + workflowRun
	if ok, asked := sw.exists[id]; asked {
		return !ok, nil
	}
	ok, err := sw.o.Exists(ctx, namespace, workflowRun)
	if err != nil {
		return false, fmt.Errorf("maintainer: whether WorkflowRun %s exists: %w", id, err)
	}
	sw.exists[id] = ok
	return !ok, nil
}

// list collects the objects under prefix first, then the caller deletes:
// a filesystem walk and a bucket listing are both safer not mutated under
// their feet.
func (sw *sweeper) list(ctx context.Context, prefix string) ([]store.Object, error) {
	var objs []store.Object
	err := sw.s.List(ctx, prefix, func(o store.Object) error {
		objs = append(objs, o)
		return nil
	})
	return objs, err
}

func (sw *sweeper) del(ctx context.Context, key string, n *int) error {
	if err := sw.s.Delete(ctx, key); err != nil {
		return err
	}
	*n++
	return nil
}

// refs deletes refs/<ns>/<workflowRun>/<runUID>/<name> past the artifacts'
// retention or of a gone WorkflowRun; the key says which, unread.
func (sw *sweeper) refs(ctx context.Context) error {
	objs, err := sw.list(ctx, "refs/")
	if err != nil {
		return err
	}
	for _, o := range objs {
		parts := strings.SplitN(o.Key, "/", 5)
		if len(parts) < 5 {
			continue // not the layout's; not ours to judge
		}
		gone, err := sw.gone(ctx, o, parts[1], parts[2])
		if err != nil {
			return err
		}
		if gone || sw.expired(o, sw.o.Retention.Artifacts) {
			if err := sw.del(ctx, o.Key, &sw.res.Refs); err != nil {
				return err
			}
		}
	}
	return nil
}

// records deletes the records under prefix past retention.
func (sw *sweeper) records(prefix string, retention time.Duration, n *int) func(context.Context) error {
	return func(ctx context.Context) error {
		objs, err := sw.list(ctx, prefix)
		if err != nil {
			return err
		}
		for _, o := range objs {
			if sw.expired(o, retention) {
				if err := sw.del(ctx, o.Key, n); err != nil {
					return err
				}
			}
		}
		return nil
	}
}

// abandoned removes what killed writers left (see store.DeleteAbandoned).
// BlobGrace bounds an upload's duration: one still running after it is
// taken for abandoned.
func (sw *sweeper) abandoned(ctx context.Context) error {
	n, err := sw.s.DeleteAbandoned(ctx, sw.o.Now.Add(-sw.o.BlobGrace))
	sw.res.Abandoned += n
	return err
}

// notFound: another sweeper got there first.
func notFound(err error) bool { return errors.Is(err, store.ErrNotFound) }
