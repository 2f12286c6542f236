package store

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"path"
	"strings"
)

// maxKeyLen keeps keys well inside S3's 1024 bytes and a filesystem's
// PATH_MAX, with room for the bucket prefix.
const maxKeyLen = 512

// BlobKey is where the blob with digest "sha256:<hex>" lives. It panics on a
// malformed digest: callers that take digests from outside use ParseDigest.
func BlobKey(digest string) string {
	h, err := ParseDigest(digest)
	if err != nil {
		panic(err)
	}
	return "blobs/sha256/" + h
}

// ParseDigest returns the hex of a "sha256:<64 lowercase hex>" digest.
func ParseDigest(digest string) (string, error) {
	h, ok := strings.CutPrefix(digest, "sha256:")
	if !ok || len(h) != 64 || strings.ToLower(h) != h {
		return "", fmt.Errorf("digest %q is not sha256:<64 lowercase hex digits>", digest)
	}
	if _, err := hex.DecodeString(h); err != nil {
		return "", fmt.Errorf("digest %q is not sha256:<64 lowercase hex digits>", digest)
	}
	return h, nil
}

// Digest is the "sha256:<hex>" digest of b.
func Digest(b []byte) string {
	sum := sha256.Sum256(b)
	return "sha256:" + hex.EncodeToString(sum[:])
}

func sha(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

// CacheKey is the record of a step cache entry. scope is the repository and
// workflow the key is valid in; both are hashed, so they may hold anything.
func CacheKey(scope, key string) string { return "cache/" + sha(scope) + "/" + sha(key) }

// MemoKey is the record of a memoized step, hashed as CacheKey is.
func MemoKey(scope, key string) string { return "memo/" + sha(scope) + "/" + sha(key) }

// LogKey is a Run's archived log. The parts are Kubernetes names and a UID,
// which validKey accepts; an empty or hostile part makes the key invalid,
// and the store call that uses it fails.
func LogKey(namespace, run, uid string) string {
	return "logs/" + namespace + "/" + run + "/" + uid
}

// LogMetaKey is the LogRecord beside a Run's log, which tells the
// Maintainer its WorkflowRun.
func LogMetaKey(namespace, run, uid string) string { return LogKey(namespace, run, uid) + ".json" }

// RefKey is an ArtifactRef: artifact name of the Run with runUID, in
// workflowRun.
func RefKey(namespace, workflowRun, runUID, name string) string {
	return "refs/" + namespace + "/" + workflowRun + "/" + runUID + "/" + name
}

// validKey refuses any key that could leave the store's root or collide with
// a backend's own files: fileblob keeps "<key>.<n>.tmp" temporaries and
// ".attrs" sidecars next to objects, so those suffixes are not keys.
func validKey(key string) error {
	if err := validPrefix(key); err != nil {
		return err
	}
	if key == "" || strings.HasSuffix(key, "/") {
		return fmt.Errorf("invalid key %q: empty or ends with /", key)
	}
	if strings.HasSuffix(key, ".tmp") || strings.HasSuffix(key, ".attrs") {
		return fmt.Errorf("invalid key %q: .tmp and .attrs are reserved", key)
	}
	return nil
}

// validPrefix is validKey for List's prefix, which may be empty or end in /.
func validPrefix(p string) error {
	if len(p) > maxKeyLen {
		return fmt.Errorf("invalid key %q: longer than %d bytes", p[:32]+"…", maxKeyLen)
	}
	for _, c := range p {
		if !keyRune(c) {
			return fmt.Errorf("invalid key %q: %q is not one of a-z A-Z 0-9 . _ - : /", p, c)
		}
	}
	if strings.HasPrefix(p, "/") || strings.Contains(p, "//") {
		return fmt.Errorf("invalid key %q: leading / or empty path segment", p)
	}
	for _, seg := range strings.Split(strings.TrimSuffix(p, "/"), "/") {
		// A leading dot covers "." and "..", and hidden files.
		if strings.HasPrefix(seg, ".") {
			return fmt.Errorf("invalid key %q: a path segment starts with a dot", p)
		}
	}
	if p != "" && path.Clean(p) != strings.TrimSuffix(p, "/") {
		return fmt.Errorf("invalid key %q: not a clean path", p)
	}
	return nil
}

func keyRune(c rune) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' ||
		c == '.' || c == '_' || c == '-' || c == ':' || c == '/'
}
