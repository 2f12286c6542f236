// Package artifact fetches a Flux source's artifact, a gzipped tarball,
// checks its digest, and unpacks it in memory, refusing anything that could
// escape: links, absolute paths, "..".
package artifact

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"path"
	"strings"
)

// Limits bound what one artifact may hold.
const (
	MaxArchive = 64 << 20
	MaxFiles   = 10000
	MaxContent = 128 << 20
)

// ErrDigest means the artifact is not the one its source declared.
var ErrDigest = errors.New("artifact digest mismatch")

// Fetch downloads the artifact at url, checks it against digest
// ("sha256:<hex>"), and returns its regular files by path.
func Fetch(ctx context.Context, c *http.Client, url, digest string) (map[string][]byte, error) {
	data, err := download(ctx, c, url)
	if err != nil {
		return nil, err
	}
	if err := check(data, digest); err != nil {
		return nil, err
	}
	return Untar(bytes.NewReader(data))
}

func download(ctx context.Context, c *http.Client, url string) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	resp, err := c.Do(req)
	if err != nil {
		return nil, fmt.Errorf("downloading the artifact %s: %w", url, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("downloading the artifact %s: %s", url, resp.Status)
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, MaxArchive+1))
	if err != nil {
		return nil, fmt.Errorf("downloading the artifact %s: %w", url, err)
	}
	if len(data) > MaxArchive {
		return nil, fmt.Errorf("the artifact %s is over %d bytes", url, MaxArchive)
	}
	return data, nil
}

func check(data []byte, digest string) error {
	want, ok := strings.CutPrefix(digest, "sha256:")
	if !ok {
		return fmt.Errorf("%w: digest %q is not sha256:<hex>", ErrDigest, digest)
	}
	sum := sha256.Sum256(data)
	if got := hex.EncodeToString(sum[:]); got != want {
		return fmt.Errorf("%w: the source declares sha256:%s, the download is sha256:%s", ErrDigest, want, got)
	}
	return nil
}

// Untar unpacks a gzipped tarball into memory.
func Untar(r io.Reader) (map[string][]byte, error) {
	gz, err := gzip.NewReader(r)
	if err != nil {
		return nil, fmt.Errorf("the artifact is not gzip: %w", err)
	}
	tr := tar.NewReader(gz)
	files := map[string][]byte{}
	total := 0
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return files, nil
		}
		if err != nil {
			return nil, fmt.Errorf("reading the artifact: %w", err)
		}
		name, err := safeName(h)
		if err != nil || name == "" {
			if err != nil {
				return nil, err
			}
			continue
		}
		if len(files) >= MaxFiles {
			return nil, fmt.Errorf("the artifact has more than %d files", MaxFiles)
		}
		data, err := io.ReadAll(io.LimitReader(tr, MaxContent-int64(total)+1))
		if err != nil {
			return nil, err
		}
		if total += len(data); total > MaxContent {
			return nil, fmt.Errorf("the artifact unpacks to more than %d bytes", MaxContent)
		}
		files[name] = data
	}
}

// safeName returns the cleaned path of a regular file, "" for a directory,
// and an error for anything else or anything that would leave the root.
func safeName(h *tar.Header) (string, error) {
	switch h.Typeflag {
	case tar.TypeDir:
		return "", nil
	case tar.TypeReg:
	default:
		return "", fmt.Errorf("the artifact holds %q, which is not a regular file or directory (links are refused)", h.Name)
	}
	name := path.Clean(strings.TrimPrefix(h.Name, "./"))
	if path.IsAbs(h.Name) || name == ".." || strings.HasPrefix(name, "../") {
		return "", fmt.Errorf("the artifact path %q leaves the artifact", h.Name)
	}
	return name, nil
}
