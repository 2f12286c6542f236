package store

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"hash"
	"io"

	"gocloud.dev/blob"
)

// Has reports whether the blob with digest is in the store.
func (s *Store) Has(ctx context.Context, digest string) (bool, error) {
	h, err := ParseDigest(digest)
	if err != nil {
		return false, err
	}
	key := "blobs/sha256/" + h
	ok, err := s.bucket.Exists(ctx, key)
	return ok, s.wrap(key, err)
}

// PutBlob streams r into the store under digest and returns the blob's uri.
// It hashes as it goes: if the bytes are not size long (size < 0: any size)
// or do not hash to digest, the upload is aborted, no object is left, and the
// error wraps ErrDigestMismatch. A blob already stored is not read again.
func (s *Store) PutBlob(ctx context.Context, digest string, size int64, r io.Reader) (string, error) {
	h, err := ParseDigest(digest)
	if err != nil {
		return "", err
	}
	key := "blobs/sha256/" + h
	if ok, err := s.bucket.Exists(ctx, key); err != nil {
		return "", s.wrap(key, err)
	} else if ok {
		return s.uri(key), nil
	}
	vr := &verifier{r: r, want: h, size: size, h: sha256.New()}
	if err := s.write(ctx, key, vr, nil); err != nil {
		return "", err
	}
	return s.uri(key), nil
}

// write copies r to key. On any error, from r or from the store, it cancels
// the writer's context before closing it: that is how gocloud aborts an
// upload (fileblob drops its temporary, s3blob aborts the multipart upload
// or never sends the PUT), so a failed write leaves no object.
func (s *Store) write(ctx context.Context, key string, r io.Reader, opts *blob.WriterOptions) error {
	if err := validKey(key); err != nil {
		return err
	}
	if opts == nil {
		opts = &blob.WriterOptions{}
	}
	if opts.ContentType == "" {
		// Set, so gocloud does not buffer the start to sniff it.
		opts.ContentType = "application/octet-stream"
	}
	if s.s3 != nil {
		opts.BeforeWrite = s.abortable
	}
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	w, err := s.bucket.NewWriter(wctx, key, opts)
	if err != nil {
		return s.wrap(key, err)
	}
	if _, err := io.Copy(w, r); err != nil {
		cancel()
		_ = w.Close()
		return s.wrap(key, err)
	}
	return s.wrap(key, w.Close())
}

// GetBlob opens the blob with digest and its size. The reader verifies as it
// goes: at the end it returns an error wrapping ErrDigestMismatch instead of
// io.EOF if the bytes do not hash to digest. The caller closes it.
func (s *Store) GetBlob(ctx context.Context, digest string) (io.ReadCloser, int64, error) {
	h, err := ParseDigest(digest)
	if err != nil {
		return nil, 0, err
	}
	key := "blobs/sha256/" + h
	br, err := s.bucket.NewReader(ctx, key, nil)
	if err != nil {
		return nil, 0, s.wrap(key, err)
	}
	v := &verifier{r: br, want: h, size: br.Size(), h: sha256.New()}
	return &blobReader{verifier: v, c: br, s: s, key: key}, br.Size(), nil
}

// verifier hashes what passes through it and, at EOF, turns a mismatch into
// an ErrDigestMismatch error. It stops as soon as it has read more than size
// bytes, so an oversized stream is not read to its end.
type verifier struct {
	r    io.Reader
	want string // hex
	size int64  // < 0: unknown
	n    int64
	h    hash.Hash
}

func (v *verifier) Read(p []byte) (int, error) {
	n, err := v.r.Read(p)
	v.n += int64(n)
	v.h.Write(p[:n])
	if v.size >= 0 && v.n > v.size {
		return 0, fmt.Errorf("%w: more than the %d bytes expected of sha256:%s", ErrDigestMismatch, v.size, v.want)
	}
	if err != io.EOF {
		return n, err
	}
	if v.size >= 0 && v.n != v.size {
		return n, fmt.Errorf("%w: %d bytes instead of %d for sha256:%s", ErrDigestMismatch, v.n, v.size, v.want)
	}
	if got := hex.EncodeToString(v.h.Sum(nil)); got != v.want {
		return n, fmt.Errorf("%w: got sha256:%s, want sha256:%s", ErrDigestMismatch, got, v.want)
	}
	return n, io.EOF
}

// blobReader is GetBlob's reader: errors from the store (not the digest
// check, and not EOF) name the store.
type blobReader struct {
	*verifier
	c   io.Closer
	s   *Store
	key string
}

func (b *blobReader) Read(p []byte) (int, error) {
	n, err := b.verifier.Read(p)
	if err != nil && err != io.EOF {
		err = b.s.wrap(b.key, err)
	}
	return n, err
}

func (b *blobReader) Close() error { return b.c.Close() }
