package archive

import (
	"archive/tar"
	"bytes"
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/klauspost/compress/zstd"
)

// entry is one hand-made tar entry; body, when longer than zero, is
// written after the header (a bomb's header may lie about it).
type entry struct {
	h    tar.Header
	body []byte
}

func reg(name string, body string) entry {
	return entry{tar.Header{Typeflag: tar.TypeReg, Name: name, Size: int64(len(body)), Mode: 0o644}, []byte(body)}
}

// craft builds a tar.zst as a hostile producer would, without Pack's
// checks; trailer is appended, compressed, after the tar's end.
func craft(t testing.TB, entries []entry, trailer []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw, err := zstd.NewWriter(&buf)
	must(t, err)
	tw := tar.NewWriter(zw)
	for _, e := range entries {
		must(t, tw.WriteHeader(&e.h))
		if len(e.body) > 0 {
			_, err := tw.Write(e.body)
			must(t, err)
		}
	}
	must(t, tw.Close())
	_, err = zw.Write(trailer)
	must(t, err)
	must(t, zw.Close())
	return buf.Bytes()
}

func TestUnpackRefuses(t *testing.T) {
	many := make([]entry, 50)
	for i := range many {
		many[i] = reg("f"+strings.Repeat("x", i), "")
	}
	mib := strings.Repeat("\x00", 1<<20)
	dots := make([]entry, 50)
	for i := range dots {
		dots[i] = entry{h: tar.Header{Typeflag: tar.TypeDir, Name: "./"}}
	}
	cases := []struct {
		name    string
		entries []entry
		trailer []byte
		opts    UnpackOptions
		kind    error
		msg     string
	}{
		{"symlink", []entry{{h: tar.Header{Typeflag: tar.TypeSymlink, Name: "ln", Linkname: "/etc/passwd"}}}, nil, UnpackOptions{}, ErrUnsafe, `"ln" is a symlink`},
		{"hard link", []entry{reg("a", "x"), {h: tar.Header{Typeflag: tar.TypeLink, Name: "b", Linkname: "a"}}}, nil, UnpackOptions{}, ErrUnsafe, `"b" is a hard link`},
		{"parent", []entry{reg("../x", "x")}, nil, UnpackOptions{}, ErrUnsafe, `"../x" has a ".."`},
		{"parent inside", []entry{reg("a/../b", "x")}, nil, UnpackOptions{}, ErrUnsafe, `"a/../b" has a ".."`},
		{"absolute", []entry{reg("/etc/x", "x")}, nil, UnpackOptions{}, ErrUnsafe, `"/etc/x" is absolute`},
		{"device", []entry{{h: tar.Header{Typeflag: tar.TypeChar, Name: "null", Devmajor: 1, Devminor: 3}}}, nil, UnpackOptions{}, ErrUnsafe, `"null" is a device`},
		{"fifo", []entry{{h: tar.Header{Typeflag: tar.TypeFifo, Name: "p"}}}, nil, UnpackOptions{}, ErrUnsafe, `"p" is a named pipe`},
		{"twice", []entry{reg("a", "1"), reg("a", "2")}, nil, UnpackOptions{}, ErrUnsafe, `"a" already exists`},
		{"file then folder", []entry{reg("a", "1"), reg("a/b", "2")}, nil, UnpackOptions{}, ErrUnsafe, `"a" cannot be a folder`},
		{"bomb of bytes", []entry{reg("a", mib), reg("b", mib), reg("c", mib)}, nil, UnpackOptions{MaxBytes: 2 << 20}, ErrTooLarge, "limit of 2097152 bytes at c"},
		{"bomb of entries", many, nil, UnpackOptions{MaxEntries: 10}, ErrTooLarge, "limit of 10 files and folders"},
		{"bomb of dots", dots, nil, UnpackOptions{MaxEntries: 10}, ErrTooLarge, "limit of 10 files and folders"},
		{"data after the end", []entry{reg("a", "x")}, []byte(strings.Repeat("\x00", 2<<20)), UnpackOptions{}, ErrUnsafe, "data after its end"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dest := t.TempDir()
			_, err := Unpack(bytes.NewReader(craft(t, tc.entries, tc.trailer)), openRoot(t, dest), tc.opts)
			if !errors.Is(err, tc.kind) || !strings.Contains(err.Error(), tc.msg) {
				t.Fatalf("got %v, want %v naming %q", err, tc.kind, tc.msg)
			}
		})
	}
}

// TestUnpackBombStopsEarly: a header that declares a terabyte is refused
// before its body is read, so nothing is written and the (absent) body is
// never decompressed.
func TestUnpackBombStopsEarly(t *testing.T) {
	var raw bytes.Buffer
	tw := tar.NewWriter(&raw)
	must(t, tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: "bomb", Size: 1 << 40, Mode: 0o644}))
	var buf bytes.Buffer
	zw, _ := zstd.NewWriter(&buf)
	_, err := zw.Write(raw.Bytes()) // a header, then nothing: a body would never be read
	must(t, err)
	must(t, zw.Close())
	dest := t.TempDir()
	_, err = Unpack(bytes.NewReader(buf.Bytes()), openRoot(t, dest), UnpackOptions{MaxBytes: 1 << 30})
	if !errors.Is(err, ErrTooLarge) {
		t.Fatalf("got %v, want ErrTooLarge", err)
	}
	if ents, _ := os.ReadDir(dest); len(ents) != 0 {
		t.Fatalf("wrote %d entries", len(ents))
	}
}

func TestUnpackCorrupt(t *testing.T) {
	good := craft(t, []entry{reg("a", strings.Repeat("a", 10000))}, nil)
	for name, data := range map[string][]byte{
		"not zstd":  []byte("hello, this is not an archive"),
		"truncated": good[:len(good)/2],
		"empty":     nil,
	} {
		t.Run(name, func(t *testing.T) {
			_, err := Unpack(bytes.NewReader(data), openRoot(t, t.TempDir()), UnpackOptions{})
			if err == nil {
				t.Fatalf("got %v, want an error", err)
			}
		})
	}
}

// TestUnpackSkipsGlobalHeader: a pax global header (git archive writes
// one) is metadata, not an entry.
func TestUnpackSkipsGlobalHeader(t *testing.T) {
	data := craft(t, []entry{
		{h: tar.Header{Typeflag: tar.TypeXGlobalHeader, Name: "pax_global_header", PAXRecords: map[string]string{"comment": "abc"}}},
		reg("a", "x"),
	}, nil)
	st, err := Unpack(bytes.NewReader(data), openRoot(t, t.TempDir()), UnpackOptions{})
	if err != nil || st.Files != 1 {
		t.Fatalf("got %+v, %v", st, err)
	}
}
