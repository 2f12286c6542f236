package archive

import (
	"archive/tar"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"strings"

	"github.com/klauspost/compress/zstd"
)

// maxWindow bounds the memory a frame may make the decoder take: a hostile
// header could otherwise ask for gigabytes. Pack's fastest level uses far
// less; zstd's own command line, up to level 19, fits.
const maxWindow = 32 << 20

// maxTrailer bounds what may follow the tar's end inside the stream: tar
// pads to a record, at most 10 KiB; anything beyond is not an archive we
// made, and could be a bomb's payload.
const maxTrailer = 1 << 20

// Unpack extracts a tar.zst into dest. It writes regular files and folders
// only and never replaces an existing file; it refuses (ErrUnsafe) links,
// devices, absolute names and names with "..", and stops (ErrTooLarge) as
// soon as the declared sizes or the entries pass opts. Modes keep only the
// exec bit. On error, what was written stays: unpack into a fresh folder
// and remove it on failure.
func Unpack(r io.Reader, dest *os.Root, opts UnpackOptions) (Stats, error) {
	cr := &countingReader{r: r}
	dec, err := zstd.NewReader(cr, zstd.WithDecoderConcurrency(1), zstd.WithDecoderMaxWindow(maxWindow))
	if err != nil {
		return Stats{}, err
	}
	defer dec.Close()
	u := &unpacker{dest: dest}
	u.maxBytes, u.maxEntries = limits(opts.MaxBytes, opts.MaxEntries)
	tr := tar.NewReader(dec)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return u.stats, fmt.Errorf("reading the archive: %w", err)
		}
		if err := u.entry(h, tr); err != nil {
			return u.stats, err
		}
	}
	// Read to the stream's end, so that its checksum is checked.
	n, err := io.Copy(io.Discard, io.LimitReader(dec, maxTrailer+1))
	if err != nil {
		return u.stats, fmt.Errorf("reading the archive: %w", err)
	}
	if cr.n == 0 {
		return u.stats, errors.New("the archive is empty: not even a tar end")
	}
	if n > maxTrailer {
		return u.stats, &kindError{"the archive has data after its end", ErrUnsafe}
	}
	return u.stats, nil
}

type unpacker struct {
	dest  *os.Root
	stats Stats
	// entries counts every header, skipped ones too: a stream of "./"
	// entries compresses to nothing and would otherwise never end.
	entries    int
	maxBytes   int64
	maxEntries int
}

func (u *unpacker) entry(h *tar.Header, r io.Reader) error {
	name, err := entryName(h.Name)
	if err != nil {
		return err
	}
	if u.entries++; u.entries > u.maxEntries {
		return &kindError{fmt.Sprintf("the archive passes its limit of %d files and folders at %s", u.maxEntries, h.Name), ErrTooLarge}
	}
	switch h.Typeflag {
	case tar.TypeDir:
		if name == "." {
			return nil
		}
		u.stats.Dirs++
		return u.mkdirAll(name)
	case tar.TypeReg:
		if name == "." {
			return unsafe(h.Name, "is not a file name")
		}
		return u.file(name, h, r)
	case tar.TypeXGlobalHeader:
		return nil // metadata only, as git archive writes
	case tar.TypeSymlink:
		return unsafe(h.Name, "is a symlink")
	case tar.TypeLink:
		return unsafe(h.Name, "is a hard link")
	case tar.TypeChar, tar.TypeBlock:
		return unsafe(h.Name, "is a device")
	case tar.TypeFifo:
		return unsafe(h.Name, "is a named pipe")
	}
	return unsafe(h.Name, fmt.Sprintf("has type %q; artifacts hold regular files and folders only", h.Typeflag))
}

// entryName refuses a name that is absolute or has a ".." anywhere, even
// one that would stay inside: no archive we make has one.
func entryName(name string) (string, error) {
	switch {
	case name == "":
		return "", unsafe(name, "has no name")
	case strings.HasPrefix(name, "/"):
		return "", unsafe(name, "is absolute")
	case strings.ContainsRune(name, 0) || strings.Contains(name, "\\"):
		return "", unsafe(name, "has a NUL or a backslash")
	}
	for _, part := range strings.Split(name, "/") {
		if part == ".." {
			return "", unsafe(name, "has a \"..\"")
		}
	}
	return path.Clean(name), nil
}

func unsafe(name, why string) error {
	return &kindError{fmt.Sprintf("archive entry %q %s", name, why), ErrUnsafe}
}

func (u *unpacker) mkdirAll(name string) error {
	if err := u.dest.MkdirAll(name, 0o755); err != nil {
		return unsafe(name, fmt.Sprintf("cannot be a folder: %v", err))
	}
	return nil
}

// file checks the declared size against the budget before writing a byte,
// so a bomb stops at its first header; the tar reader then yields exactly
// that many bytes.
func (u *unpacker) file(name string, h *tar.Header, r io.Reader) error {
	if h.Size < 0 || u.stats.Bytes+h.Size > u.maxBytes {
		return &kindError{fmt.Sprintf("the archive passes its limit of %d bytes at %s", u.maxBytes, h.Name), ErrTooLarge}
	}
	if dir := path.Dir(name); dir != "." {
		if err := u.mkdirAll(dir); err != nil {
			return err
		}
	}
	perm := fs.FileMode(0o644)
	if h.Mode&0o111 != 0 {
		perm = 0o755
	}
	f, err := u.dest.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, perm)
	if errors.Is(err, fs.ErrExist) {
		return unsafe(h.Name, "already exists")
	}
	if err != nil {
		return err
	}
	_, err = io.CopyN(f, r, h.Size)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("writing %s: %w", name, err)
	}
	u.stats.Files++
	u.stats.Bytes += h.Size
	return nil
}

// countingReader tells an empty stream, which zstd and tar both take for
// an empty archive, from one that is.
type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}
