package git

import (
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"time"
)

// Retention says which cache entries Clean removes. The cache is only a
// copy: a removed entry that is needed again is fetched again.
type Retention struct {
	// InUse are the URLs that some repository names now.
	InUse []string
	// MaxIdle: an entry of a URL no repository names is removed once it
	// has not been used for this long (at once when 0).
	MaxIdle time.Duration
	// MaxBytes bounds the whole cache: while it is over, the least
	// recently used entries go, in use or not. No bound when 0.
	MaxBytes int64
}

// CacheEntry is one URL's repository in the cache.
type CacheEntry struct {
	Name     string
	Bytes    int64
	LastUsed time.Time
}

var entryName = regexp.MustCompile(`^[0-9a-f]{32}$`)

// Clean removes the entries r says to, and returns them. An entry busy
// with a fetch or a read is left for the next time.
func (c *Cache) Clean(r Retention) ([]CacheEntry, error) {
	entries, err := c.Entries()
	if err != nil {
		return nil, err
	}
	inUse := map[string]bool{}
	for _, u := range r.InUse {
		inUse[EntryName(u)] = true
	}
	var removed []CacheEntry
	var total int64
	kept := entries[:0]
	now := time.Now()
	for _, e := range entries {
		if !inUse[e.Name] && now.Sub(e.LastUsed) >= r.MaxIdle && c.removeIdle(e.Name) {
			removed = append(removed, e)
			continue
		}
		total += e.Bytes
		kept = append(kept, e)
	}
	if r.MaxBytes <= 0 {
		return removed, nil
	}
	sort.Slice(kept, func(i, j int) bool { return kept[i].LastUsed.Before(kept[j].LastUsed) })
	for _, e := range kept {
		if total <= r.MaxBytes {
			break
		}
		if c.removeIdle(e.Name) {
			removed = append(removed, e)
			total -= e.Bytes
		}
	}
	return removed, nil
}

// Remove drops a URL's entry, in its turn.
func (c *Cache) Remove(ctx context.Context, rawURL string) error {
	unlock, err := c.lock(ctx, rawURL)
	if err != nil {
		return err
	}
	defer unlock()
	return os.RemoveAll(c.dir(rawURL))
}

// removeIdle removes an entry unless another operation holds its turn.
func (c *Cache) removeIdle(name string) bool {
	ch := c.turn(name)
	select {
	case ch <- struct{}{}:
		defer func() { <-ch }()
		return os.RemoveAll(filepath.Join(c.root, name)) == nil
	default:
		return false
	}
}

// Entries lists the cache's entries, with their sizes and last use.
func (c *Cache) Entries() ([]CacheEntry, error) {
	dirs, err := os.ReadDir(c.root)
	if err != nil {
		return nil, err
	}
	var out []CacheEntry
	for _, d := range dirs {
		if !d.IsDir() || !entryName.MatchString(d.Name()) {
			continue
		}
		dir := filepath.Join(c.root, d.Name())
		e := CacheEntry{Name: d.Name()}
		info, err := os.Stat(filepath.Join(dir, usedMarker))
		if err != nil {
			info, err = os.Stat(dir)
		}
		if err != nil {
			continue // removed meanwhile
		}
		e.LastUsed = info.ModTime()
		_ = filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
			if err == nil && d.Type().IsRegular() {
				if fi, err := d.Info(); err == nil {
					e.Bytes += fi.Size()
				}
			}
			return nil
		})
		out = append(out, e)
	}
	return out, nil
}
