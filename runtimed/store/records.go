package store

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"

	"gocloud.dev/blob"
	"gocloud.dev/gcerrors"
)

// PutRecord writes v as JSON under key. With ifAbsent the first write wins
// and written says whether this one did. On the filesystem that is atomic;
// on S3 it is a check, then a write with If-None-Match: *, which AWS S3,
// MinIO and versitygw honour; a server that ignores the header leaves a
// window between the check and the write in which two writers both win and
// the last one's record stays. Records under one key are meant to be
// equivalent (a cache entry for the same key), so that race is harmless.
func (s *Store) PutRecord(ctx context.Context, key string, v any, ifAbsent bool) (bool, error) {
	if err := validKey(key); err != nil {
		return false, err
	}
	b, err := json.Marshal(v)
	if err != nil {
		return false, fmt.Errorf("%s: %s: %w", s.label, key, err)
	}
	if ifAbsent {
		if ok, err := s.bucket.Exists(ctx, key); err != nil || ok {
			return false, s.wrap(key, err)
		}
	}
	opts := &blob.WriterOptions{ContentType: "application/json", IfNotExist: ifAbsent}
	err = s.write(ctx, key, bytes.NewReader(b), opts)
	if ifAbsent && err != nil && gcerrors.Code(err) == gcerrors.FailedPrecondition {
		return false, nil
	}
	return err == nil, err
}

// GetRecord reads the JSON record under key into v.
func (s *Store) GetRecord(ctx context.Context, key string, v any) error {
	if err := validKey(key); err != nil {
		return err
	}
	b, err := s.bucket.ReadAll(ctx, key)
	if err != nil {
		return s.wrap(key, err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("%s: %s: %w", s.label, key, err)
	}
	return nil
}

// PutStream streams r to key (an archived log). A failed stream leaves no
// object.
func (s *Store) PutStream(ctx context.Context, key string, r io.Reader) error {
	return s.write(ctx, key, r, nil)
}

// GetStream opens the object under key. The caller closes it.
func (s *Store) GetStream(ctx context.Context, key string) (io.ReadCloser, error) {
	if err := validKey(key); err != nil {
		return nil, err
	}
	r, err := s.bucket.NewReader(ctx, key, nil)
	if err != nil {
		return nil, s.wrap(key, err)
	}
	return r, nil
}

// Object is one entry of List.
type Object struct {
	Key     string
	ModTime time.Time
	Size    int64
}

// List calls fn once for every object whose key starts with prefix, in
// the backend's order (S3's is by key; a file store's is its directory
// walk, where "a/x" comes before "a-2/y"), until fn returns an error,
// which List returns.
func (s *Store) List(ctx context.Context, prefix string, fn func(Object) error) error {
	if err := validPrefix(prefix); err != nil {
		return err
	}
	passed, delay := map[string]bool{}, 10*time.Millisecond
	for restarts := 0; ; restarts++ {
		before := len(passed)
		fnErr, err := s.listPass(ctx, prefix, passed, fn)
		// fileblob stats each file it walks, so a key deleted under the walk
		// (by another Maintainer, or a temporary renamed into place) fails
		// the whole page with NotFound. Start again, after a pause that lets
		// a burst of deletes pass, skipping the keys already passed to fn.
		if fnErr != nil {
			return fnErr
		}
		if err == nil || !errors.Is(err, ErrNotFound) {
			return err
		}
		if len(passed) > before {
			restarts, delay = 0, 10*time.Millisecond // progress: a new burst
		}
		if restarts == maxListRestarts {
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(delay):
		}
		delay = min(2*delay, time.Second)
	}
}

// maxListRestarts bounds List's restarts without progress: about ten
// seconds of pauses. A missing bucket is not ErrNotFound (see storeWide),
// so it is not retried.
const maxListRestarts = 15

// listPass is one pass of List, over the keys not yet in passed, which it
// adds to as it passes keys to fn. fn's own error comes back apart from
// the listing's, so that it is never taken for a vanished key.
func (s *Store) listPass(ctx context.Context, prefix string, passed map[string]bool, fn func(Object) error) (fnErr, err error) {
	it := s.bucket.List(&blob.ListOptions{Prefix: prefix})
	for {
		o, err := it.Next(ctx)
		if err == io.EOF {
			return nil, nil
		}
		if err != nil {
			return nil, s.wrap(prefix, err)
		}
		if o.IsDir || isTemp(o.Key) || passed[o.Key] {
			continue
		}
		passed[o.Key] = true
		if err := fn(Object{Key: o.Key, ModTime: o.ModTime, Size: o.Size}); err != nil {
			return err, nil
		}
	}
}

// Delete removes key. A key that is already gone is not an error, so that
// several Maintainers can sweep at once.
func (s *Store) Delete(ctx context.Context, key string) error {
	if err := validKey(key); err != nil {
		return err
	}
	err := s.bucket.Delete(ctx, key)
	if gcerrors.Code(err) == gcerrors.NotFound {
		return nil
	}
	return s.wrap(key, err)
}
