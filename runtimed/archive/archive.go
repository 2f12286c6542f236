// Package archive packs a step's files into a tar.zst and unpacks one, for
// the artifacts and caches that pass between steps. Both sides distrust the
// other: Pack never leaves the working directory nor follows a link, and
// Unpack writes only regular files and folders inside its destination,
// within a byte and entry budget, so a hostile archive (links, "..", a bomb)
// is refused early.
package archive

import (
	"errors"
	"time"
)

var (
	// ErrTooLarge is wrapped by the error of a Pack or Unpack that would
	// pass its MaxBytes or MaxEntries.
	ErrTooLarge = errors.New("artifact too large")
	// ErrUnsafe is wrapped by Unpack's refusal of an entry that is not a
	// plain file or folder inside the destination.
	ErrUnsafe = errors.New("unsafe archive entry")
	// ErrBadPath is wrapped by Pack's refusal of a path: absolute,
	// escaping, missing, a link or a special file.
	ErrBadPath = errors.New("bad artifact path")
)

// Defaults for a zero MaxBytes or MaxEntries: a forgotten limit must not
// mean none, since archives cross trust boundaries.
const (
	DefaultMaxBytes   = 1 << 30
	DefaultMaxEntries = 100_000
)

// PackOptions bound what Pack writes.
type PackOptions struct {
	// MaxBytes bounds the files' total uncompressed size; zero means
	// DefaultMaxBytes.
	MaxBytes int64
	// MaxEntries bounds the files and folders; zero means DefaultMaxEntries.
	MaxEntries int
}

// UnpackOptions bound what Unpack writes.
type UnpackOptions struct {
	// MaxBytes bounds the files' total expanded size; zero means
	// DefaultMaxBytes.
	MaxBytes int64
	// MaxEntries bounds the files and folders; zero means DefaultMaxEntries.
	MaxEntries int
}

// Stats count what an archive holds.
type Stats struct {
	Files, Dirs int
	// Bytes is the files' total uncompressed size.
	Bytes int64
}

// epoch is every entry's mtime: identical content gives identical bytes,
// hence an identical digest, whenever and wherever it was built.
var epoch = time.Unix(0, 0).UTC()

// kindError carries a readable message and a sentinel for errors.Is, without
// the sentinel's text in the message.
type kindError struct {
	msg  string
	kind error
}

func (e *kindError) Error() string { return e.msg }
func (e *kindError) Unwrap() error { return e.kind }

func limits(maxBytes int64, maxEntries int) (int64, int) {
	if maxBytes <= 0 {
		maxBytes = DefaultMaxBytes
	}
	if maxEntries <= 0 {
		maxEntries = DefaultMaxEntries
	}
	return maxBytes, maxEntries
}
