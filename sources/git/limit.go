package git

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/go-git/go-billy/v5/osfs"
	gogit "github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing/cache"
	"github.com/go-git/go-git/v5/storage/filesystem"
)

// openLimited opens the URL's repository for a fetch: the pack the server
// sends is written through a writer that stops at Limits.Fetch. A pull
// request's head, a fork's included, is fetched before anyone approved
// anything, so its size is the author's choice until then.
func (c *Cache) openLimited(rawURL string) (*gogit.Repository, error) {
	st := filesystem.NewStorage(osfs.New(c.dir(rawURL)), cache.NewObjectLRUDefault())
	repo, err := gogit.Open(&limitedStorage{Storage: st, limit: c.Limits.Fetch}, nil)
	if err != nil {
		return nil, fmt.Errorf("git cache for %s: %w", redact(rawURL), err)
	}
	return repo, nil
}

// limitedStorage is the cache's storage, with a bound on each pack
// written into it. go-git copies a fetched pack into PackfileWriter as it
// arrives, so the bound stops the transfer, not just the write.
type limitedStorage struct {
	*filesystem.Storage
	limit int64
}

func (s *limitedStorage) PackfileWriter() (io.WriteCloser, error) {
	w, err := s.Storage.PackfileWriter()
	if err != nil || s.limit <= 0 {
		return w, err
	}
	return &limitedWriter{WriteCloser: w, left: s.limit, limit: s.limit}, nil
}

type limitedWriter struct {
	io.WriteCloser
	left, limit int64
}

func (w *limitedWriter) Write(p []byte) (int, error) {
	if int64(len(p)) > w.left {
		return 0, fmt.Errorf("%w: the server sent more than %d bytes, the limit of one fetch "+
			"(krt-controller --git-max-fetch-size); nothing of it was kept", ErrTooLarge, w.limit)
	}
	w.left -= int64(len(p))
	return w.WriteCloser.Write(p)
}

// dropPartialPacks removes what a failed fetch left half written: go-git
// keeps a pack it could not finish as a temporary file.
func (c *Cache) dropPartialPacks(rawURL string) {
	tmp, _ := filepath.Glob(filepath.Join(c.dir(rawURL), "objects", "pack", "tmp_pack_*"))
	for _, f := range tmp {
		_ = os.Remove(f)
	}
}

// usedMarker is touched at the end of every use of an entry; its time is
// when the entry was last used, which cleaning goes by.
const usedMarker = "krt-last-used"

func (c *Cache) touch(rawURL string) {
	marker := filepath.Join(c.dir(rawURL), usedMarker)
	now := time.Now()
	if err := os.Chtimes(marker, now, now); os.IsNotExist(err) {
		_ = os.WriteFile(marker, nil, 0o600) // fails, harmlessly, if the entry is gone
	}
}
