package store

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go"
	"gocloud.dev/blob"
	"gocloud.dev/blob/fileblob"
	"gocloud.dev/gcerrors"
)

var (
	// ErrNotFound: the blob, record or log is not in the store.
	ErrNotFound = errors.New("not found")
	// ErrDigestMismatch: bytes do not hash to (or are not the size of) the
	// digest they were stored or requested under.
	ErrDigestMismatch = errors.New("digest mismatch")
	// ErrUnreachable: the store could not be reached (connection refused,
	// DNS, timeout), as opposed to refusing a request.
	ErrUnreachable = errors.New("unreachable")
)

// S3 is an S3-compatible bucket. Without AccessKeyID, the AWS SDK's default
// credential chain is used (environment, IRSA, instance role).
type S3 struct {
	Bucket, Endpoint, Region, Prefix string
	ForcePathStyle                   bool
	AccessKeyID, SecretAccessKey     string
	SessionToken                     string
}

// Options picks the backend: Dir for a filesystem directory, or S3.
type Options struct {
	Name string // for messages, e.g. "ns/store"
	Dir  string // filesystem backend
	S3   *S3
}

// Store is an open artifact store. It is safe for concurrent use.
type Store struct {
	bucket   *blob.Bucket
	describe string     // see Describe
	label    string     // the prefix of every error
	uriBase  string     // uri of the root, ending in /
	s3       *s3.Client // nil for a directory
	s3Bucket string
	s3Prefix string // "" or ending in /
}

// Open opens the store without touching the network, so that it cannot hang:
// an unreachable S3 endpoint surfaces as ErrUnreachable on the first call.
func Open(ctx context.Context, o Options) (*Store, error) {
	var s *Store
	var err error
	switch {
	case o.Dir != "" && o.S3 != nil:
		return nil, fmt.Errorf("artifact store %s: both a directory and S3 are set", o.Name)
	case o.Dir != "":
		s, err = openDir(o.Dir)
	case o.S3 != nil:
		s, err = openS3(ctx, o.S3)
	default:
		return nil, fmt.Errorf("artifact store %s: neither a directory nor S3 is set", o.Name)
	}
	if err != nil {
		return nil, fmt.Errorf("artifact store %s: %w", o.Name, err)
	}
	s.label = "artifact store " + s.describe
	if o.Name != "" {
		s.label = "artifact store " + o.Name + " (" + s.describe + ")"
	}
	return s, nil
}

func openDir(dir string) (*Store, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(abs, 0o755); err != nil {
		return nil, err
	}
	// NoTempDir: temporaries go beside their object, so the final rename
	// stays on one filesystem (an RWX volume is not /tmp's). No sidecars:
	// nothing here reads blob attributes but size and time.
	b, err := fileblob.OpenBucket(abs, &fileblob.Options{NoTempDir: true, Metadata: fileblob.MetadataDontWrite})
	if err != nil {
		return nil, err
	}
	u := "file://" + filepath.ToSlash(abs)
	return &Store{bucket: b, describe: u, uriBase: u + "/"}, nil
}

// Close releases the bucket.
func (s *Store) Close() error { return s.bucket.Close() }

// Describe names the store for messages: "s3://bucket/prefix at
// http://127.0.0.1:port" or "file:///dir".
func (s *Store) Describe() string { return s.describe }

// wrap turns a gocloud error into one naming the store, with ErrNotFound or
// ErrUnreachable where they apply. key may be empty.
func (s *Store) wrap(key string, err error) error {
	if err == nil {
		return nil
	}
	if err := s.storeWide(err); err != nil {
		return err
	}
	where := s.label
	if key != "" {
		where += ": " + key
	}
	if errors.Is(err, ErrDigestMismatch) || errors.Is(err, ErrNotFound) {
		return fmt.Errorf("%s: %w", where, err)
	}
	if gcerrors.Code(err) == gcerrors.NotFound {
		return fmt.Errorf("%s: %w", where, ErrNotFound)
	}
	return fmt.Errorf("%s: %w", where, err)
}

// storeWide is the error for failures of the whole store rather than of
// one key, or nil.
func (s *Store) storeWide(err error) error {
	if ne := netError(err); ne != nil {
		return fmt.Errorf("%s: %w: %w", s.label, ErrUnreachable, ne)
	}
	if errors.Is(err, context.DeadlineExceeded) {
		// The caller's deadline passed with no answer: a store that accepts
		// connections but does not respond is as unreachable as one that
		// refuses them.
		return fmt.Errorf("%s: %w: no answer before the deadline: %w", s.label, ErrUnreachable, context.DeadlineExceeded)
	}
	var api smithy.APIError
	if errors.As(err, &api) && api.ErrorCode() == "NoSuchBucket" {
		// Not ErrNotFound, as gocloud has it: a missing bucket is a
		// misconfiguration, not a missing artifact.
		return fmt.Errorf("%s: the bucket does not exist: %w", s.label, err)
	}
	return nil
}

// isNotFound: gocloud's NotFound, or S3's NoSuchUpload (aborted by another
// Maintainer first).
func isNotFound(err error) bool {
	var api smithy.APIError
	return gcerrors.Code(err) == gcerrors.NotFound || errors.As(err, &api) && api.ErrorCode() == "NoSuchUpload"
}

// netError finds the connection failure in err's chain, if that is what it
// is: the AWS SDK wraps it several layers deep in retry and operation errors.
func netError(err error) error {
	var dns *net.DNSError
	if errors.As(err, &dns) {
		return dns
	}
	var op *net.OpError
	if errors.As(err, &op) {
		return op
	}
	if errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ECONNRESET) ||
		errors.Is(err, syscall.EHOSTUNREACH) || errors.Is(err, syscall.ENETUNREACH) {
		return err
	}
	var te interface{ Timeout() bool }
	if errors.As(err, &te) && te.Timeout() && !errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	return nil
}

func (s *Store) uri(key string) string { return s.uriBase + key }

// isTemp is a fileblob temporary, "<key>.<hex nanoseconds>.tmp": List hides
// them, since they are not objects (yet).
func isTemp(key string) bool {
	rest, ok := strings.CutSuffix(key, ".tmp")
	if !ok {
		return false
	}
	i := strings.LastIndexByte(rest, '.')
	return i >= 0 && i < len(rest)-1 && strings.Trim(rest[i+1:], "0123456789abcdef") == ""
}
