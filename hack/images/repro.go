package main

import (
	"archive/tar"
	"compress/gzip"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// sourceDateEpoch is the one time written into images, so that the same
// tree builds the same digests: SOURCE_DATE_EPOCH (the reproducible-builds
// convention), else HEAD's commit time, else the Unix epoch.
func sourceDateEpoch(modRoot string) (time.Time, error) {
	if s := os.Getenv("SOURCE_DATE_EPOCH"); s != "" {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil || n < 0 {
			return time.Time{}, fmt.Errorf("SOURCE_DATE_EPOCH=%q: want seconds since 1970", s)
		}
		return time.Unix(n, 0).UTC(), nil
	}
	out, err := exec.Command("git", "-C", modRoot, "log", "-1", "--format=%ct").Output()
	if n, perr := strconv.ParseInt(strings.TrimSpace(string(out)), 10, 64); err == nil && perr == nil {
		return time.Unix(n, 0).UTC(), nil
	}
	return time.Unix(0, 0).UTC(), nil
}

// entry is one file of a tar: a header and where its body comes from
// (src on disk, or data), so that a large root filesystem is streamed
// rather than held in memory.
type entry struct {
	hdr  tar.Header
	src  string
	data []byte
}

func dirEntry(name string, mode int64) entry {
	return entry{hdr: tar.Header{Typeflag: tar.TypeDir, Name: name + "/", Mode: mode}}
}

func fileEntry(name string, mode int64, data []byte) entry {
	return entry{hdr: tar.Header{Typeflag: tar.TypeReg, Name: name, Mode: mode, Size: int64(len(data))}, data: data}
}

// writeTar writes the entries sorted by name, each stamped with the same
// time and without user or group names, so that only what the image holds
// decides its bytes. A parent sorts before its children, as tar needs.
func writeTar(w io.Writer, entries []entry, epoch time.Time) error {
	sorted := append([]entry(nil), entries...)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i].hdr.Name < sorted[j].hdr.Name })
	tw := tar.NewWriter(w)
	for _, e := range sorted {
		h := e.hdr
		h.ModTime, h.AccessTime, h.ChangeTime = epoch, time.Time{}, time.Time{}
		h.Uname, h.Gname, h.Format = "", "", tar.FormatPAX
		h.PAXRecords = nil
		if err := tw.WriteHeader(&h); err != nil {
			return fmt.Errorf("%s: %w", h.Name, err)
		}
		if err := writeBody(tw, e); err != nil {
			return fmt.Errorf("%s: %w", h.Name, err)
		}
	}
	return tw.Close()
}

func writeBody(w io.Writer, e entry) error {
	if e.src == "" {
		_, err := w.Write(e.data)
		return err
	}
	f, err := os.Open(e.src)
	if err != nil {
		return err
	}
	defer f.Close()
	n, err := io.Copy(w, f)
	if err == nil && n != e.hdr.Size {
		err = fmt.Errorf("changed size while being read (%d, then %d bytes)", e.hdr.Size, n)
	}
	return err
}

// writeLayerFile writes a gzipped layer. gzip's header carries no name or
// time here, so the same entries give the same bytes.
func writeLayerFile(path string, entries []entry, epoch time.Time) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	zw := gzip.NewWriter(f)
	err = writeTar(zw, entries, epoch)
	if cerr := zw.Close(); err == nil {
		err = cerr
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// dirEntries lists a root filesystem for a layer. Symlinks stay links (a
// link is never followed, so one pointing at the build host's files adds
// nothing of them), and modes are kept. Every file becomes root's, which
// is what a rootfs built by an unprivileged user means; so a setuid or
// setgid bit survives only on a file that root already owned in the
// directory, and a user cannot mint a setuid-root binary by building one.
// Devices, sockets and pipes are skipped and returned: the runtime
// provides /dev.
func dirEntries(root string) (entries []entry, skipped []string, err error) {
	err = filepath.WalkDir(root, func(p string, _ fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(root, p)
		if err != nil || rel == "." {
			return err
		}
		info, err := os.Lstat(p)
		if err != nil {
			return err
		}
		e, ok, err := fileInfoEntry(p, filepath.ToSlash(rel), info)
		if err != nil {
			return fmt.Errorf("%s: %w", p, err)
		}
		if ok {
			entries = append(entries, e)
		} else {
			skipped = append(skipped, rel)
		}
		return nil
	})
	return entries, skipped, err
}

func fileInfoEntry(path, name string, info fs.FileInfo) (entry, bool, error) {
	mode := int64(info.Mode().Perm()) | keptSpecialBits(info)
	switch {
	case info.Mode().IsRegular():
		e := entry{hdr: tar.Header{Typeflag: tar.TypeReg, Name: name, Mode: mode, Size: info.Size()}, src: path}
		return e, true, nil
	case info.IsDir():
		return dirEntry(name, mode), true, nil
	case info.Mode()&fs.ModeSymlink != 0:
		target, err := os.Readlink(path)
		h := tar.Header{Typeflag: tar.TypeSymlink, Name: name, Linkname: target, Mode: int64(info.Mode().Perm())}
		return entry{hdr: h}, err == nil, err
	}
	return entry{}, false, nil
}

// keptSpecialBits returns the setuid, setgid and sticky bits that stay
// true once the file belongs to root (see dirEntries).
func keptSpecialBits(info fs.FileInfo) int64 {
	var bits int64
	st, _ := info.Sys().(*syscall.Stat_t)
	if info.Mode()&fs.ModeSetuid != 0 && st != nil && st.Uid == 0 {
		bits |= 0o4000
	}
	if info.Mode()&fs.ModeSetgid != 0 && st != nil && st.Gid == 0 {
		bits |= 0o2000
	}
	if info.Mode()&fs.ModeSticky != 0 {
		bits |= 0o1000
	}
	return bits
}
