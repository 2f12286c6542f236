// Package store is krt's artifact store: content-addressed blobs (artifacts
// and cache archives), small JSON records that point at them, and archived
// logs, in a filesystem directory or an S3-compatible bucket, through
// gocloud.dev/blob.
//
// # Key layout
//
// Every key is relative to the store's root (the directory, or the bucket's
// prefix), and every writer uses the helpers below, so that the Maintainer
// (controllers/maintainer) can tell what each object is from its key alone:
//
//	blobs/sha256/<hex>                    BlobKey: the bytes, named by their sha256
//	refs/<ns>/<workflowRun>/<runUID>/<name> RefKey: an ArtifactRef (JSON) a Run produced
//	cache/<sha256(scope)>/<sha256(key)>   CacheKey: a CacheRecord (JSON), a step cache entry
//	memo/<sha256(scope)>/<sha256(key)>    MemoKey: a MemoRecord (JSON), a memoized step's results
//	logs/<ns>/<run>/<uid>                 LogKey: a Run's full log, as written
//	logs/<ns>/<run>/<uid>.json            LogMetaKey: a LogRecord (JSON) naming its WorkflowRun
//
// Cache and memo keys hash the user's key (and its scope, the repository
// and workflow), so that whatever a workflow's `${{ … }}` renders to, the
// object key stays short and safe. Records are the only references to
// blobs: a blob that no ref, cache or memo record names is garbage once it
// is older than the Maintainer's grace period.
//
// On the filesystem, and on S3 servers that keep objects as files
// (versitygw's POSIX backend), a key cannot also be the prefix of another
// ("a" and "a/b"): the layout's last segments are leaves, and an artifact's
// name must not contain a slash.
//
// Keys are validated (see validKey) so that no caller can address anything
// outside the store's root, whatever the workflow author writes.
package store
