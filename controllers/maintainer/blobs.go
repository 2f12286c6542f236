package maintainer

import (
	"context"
	"encoding/json"
	"errors"
	"strings"

	"krt.dev/krt/runtimed/store"
)

// blobs is the mark and sweep. It lists the candidates (unreferenced blobs
// older than BlobGrace) first and marks after, so that a ref written while
// the blobs are listed still protects its blob; a ref written after the
// mark to a blob that already existed (PutBlob found it, and skipped the
// upload) is the one case left unprotected, in the short window between the
// mark and the delete. A consumer of such a ref gets ErrNotFound, and a
// cache restore treats it as a miss.
func (sw *sweeper) blobs(ctx context.Context) error {
	objs, err := sw.list(ctx, "blobs/sha256/")
	if err != nil {
		return err
	}
	var candidates []store.Object
	for _, o := range objs {
		if sw.o.Now.Sub(o.ModTime) > sw.o.BlobGrace {
			candidates = append(candidates, o)
		} else {
			sw.res.BlobsKept++
		}
	}
	if len(candidates) == 0 {
		return nil
	}
	marked, err := sw.mark(ctx)
	if err != nil {
		return err
	}
	for _, o := range candidates {
		if marked["sha256:"+strings.TrimPrefix(o.Key, "blobs/sha256/")] {
			sw.res.BlobsKept++
			continue
		}
		if err := sw.del(ctx, o.Key, &sw.res.Blobs); err != nil {
			return err
		}
	}
	return nil
}

// mark reads every ref, cache and memo record and returns the digests they
// name.
func (sw *sweeper) mark(ctx context.Context) (map[string]bool, error) {
	marked := map[string]bool{}
	for _, prefix := range []string{"refs/", "cache/", "memo/"} {
		objs, err := sw.list(ctx, prefix)
		if err != nil {
			return nil, err
		}
		for _, o := range objs {
			if err := sw.markRecord(ctx, o.Key, marked); err != nil {
				return nil, err
			}
		}
	}
	return marked, nil
}

// record is the union of the record kinds' references: ArtifactRef and
// CacheRecord carry a digest, MemoRecord artifacts.
type record struct {
	Digest    string `json:"digest"`
	Artifacts []struct {
		Digest string `json:"digest"`
	} `json:"artifacts"`
}

func (sw *sweeper) markRecord(ctx context.Context, key string, marked map[string]bool) error {
	var rec record
	err := sw.s.GetRecord(ctx, key, &rec)
	switch {
	case notFound(err):
		return nil // deleted since the listing, by us or another sweeper
	case isMalformed(err):
		sw.res.Malformed = append(sw.res.Malformed, key)
		return nil
	case err != nil:
		return err
	}
	if rec.Digest != "" {
		marked[rec.Digest] = true
	}
	for _, a := range rec.Artifacts {
		marked[a.Digest] = true
	}
	return nil
}

// isMalformed: the record was read, but is not JSON of the expected shape.
func isMalformed(err error) bool {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	return errors.As(err, &syn) || errors.As(err, &typ)
}
