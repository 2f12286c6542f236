package archive

import (
	"bytes"
	"errors"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// tree writes files (path → content; a trailing "*" in the path makes it
// executable, a trailing "/" makes an empty folder) under a new directory.
func tree(t testing.TB, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, content := range files {
		if strings.HasSuffix(name, "/") {
			must(t, os.MkdirAll(filepath.Join(dir, name), 0o755))
			continue
		}
		mode := fs.FileMode(0o644)
		if n, ok := strings.CutSuffix(name, "*"); ok {
			name, mode = n, 0o755
		}
		p := filepath.Join(dir, name)
		must(t, os.MkdirAll(filepath.Dir(p), 0o755))
		must(t, os.WriteFile(p, []byte(content), mode))
	}
	return dir
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func openRoot(t testing.TB, dir string) *os.Root {
	t.Helper()
	r, err := os.OpenRoot(dir)
	must(t, err)
	t.Cleanup(func() { r.Close() })
	return r
}

func pack(t testing.TB, dir string, paths []string, opts PackOptions) ([]byte, Stats, error) {
	t.Helper()
	var buf bytes.Buffer
	st, err := Pack(&buf, openRoot(t, dir), paths, opts)
	return buf.Bytes(), st, err
}

// snapshot reads a tree back as path → content, with "*" for the exec bit
// and "/" for a folder.
func snapshot(t testing.TB, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	must(t, filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || p == dir {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		if d.IsDir() {
			out[rel+"/"] = ""
			return nil
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		b, err := os.ReadFile(p)
		if fi.Mode()&0o100 != 0 {
			rel += "*"
		}
		out[rel] = string(b)
		return err
	}))
	return out
}

var sample = map[string]string{
	"bin/tool*":              "#!/bin/sh\necho hi\n",
	"report/junit.xml":       "<testsuite/>",
	"report/deep/er/x.txt":   strings.Repeat("x", 100_000),
	"empty/":                 "",
	"top.txt":                "top",
	strings.Repeat("n", 150): "a name longer than ustar's 100 bytes",
}

func TestPackUnpackRoundTrip(t *testing.T) {
	cases := []struct {
		name  string
		paths []string
		want  []string // the sample's keys that come back
	}{
		{"everything", []string{"."}, nil},
		{"one folder", []string{"report"}, []string{"report/", "report/deep/", "report/deep/er/", "report/junit.xml", "report/deep/er/x.txt"}},
		{"a file deep down, its folders made", []string{"report/deep/er/x.txt"}, []string{"report/", "report/deep/", "report/deep/er/", "report/deep/er/x.txt"}},
		{"overlapping paths pack once", []string{"bin", "bin/tool", "./bin/"}, []string{"bin/", "bin/tool*"}},
		{"dot-dot that stays inside", []string{"report/../top.txt"}, []string{"top.txt"}},
	}
	src := tree(t, sample)
	all := snapshot(t, src)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			data, st, err := pack(t, src, tc.paths, PackOptions{})
			must(t, err)
			dest := t.TempDir()
			ust, err := Unpack(bytes.NewReader(data), openRoot(t, dest), UnpackOptions{})
			must(t, err)
			if st.Files != ust.Files || st.Bytes != ust.Bytes {
				t.Errorf("packed %+v, unpacked %+v", st, ust)
			}
			want := all
			if tc.want != nil {
				want = map[string]string{}
				for _, k := range tc.want {
					want[k] = all[k]
				}
			}
			got := snapshot(t, dest)
			if len(got) != len(want) {
				t.Errorf("got %d entries, want %d: %v", len(got), len(want), keys(got))
			}
			for k, v := range want {
				if got[k] != v {
					t.Errorf("%s: got %d bytes, want %d (present %v)", k, len(got[k]), len(v), hasKey(got, k))
				}
			}
		})
	}
}

func keys(m map[string]string) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

func hasKey(m map[string]string, k string) bool { _, ok := m[k]; return ok }

// TestPackDeterministic: the same content, written at other times and in
// another order, packs to the same bytes, so its digest is a cache key.
func TestPackDeterministic(t *testing.T) {
	a := tree(t, sample)
	first, _, err := pack(t, a, []string{"."}, PackOptions{})
	must(t, err)
	again, _, err := pack(t, a, []string{"."}, PackOptions{})
	must(t, err)
	if !bytes.Equal(first, again) {
		t.Fatal("packing twice gave different bytes")
	}
	time.Sleep(10 * time.Millisecond)
	b := tree(t, sample)
	must(t, os.Chtimes(filepath.Join(b, "top.txt"), time.Unix(1e9, 0), time.Unix(1e9, 0)))
	other, _, err := pack(t, b, []string{"top.txt", "."}, PackOptions{})
	must(t, err)
	if !bytes.Equal(first, other) {
		t.Fatal("the same content in another folder, at another time, gave different bytes")
	}
}

func TestPackRefuses(t *testing.T) {
	src := tree(t, map[string]string{"dir/f": "x", "big": strings.Repeat("b", 1000), "f": "f"})
	must(t, os.Symlink("f", filepath.Join(src, "link")))
	must(t, os.Symlink("../f", filepath.Join(src, "dir/inner")))
	must(t, os.Symlink("dir", filepath.Join(src, "dirlink")))
	must(t, syscall.Mkfifo(filepath.Join(src, "fifo"), 0o644))
	sock := filepath.Join(src, "sock")
	if l, err := net.Listen("unix", sock); err == nil {
		defer l.Close()
	} else {
		t.Logf("no socket: %v", err)
	}
	cases := []struct {
		name  string
		paths []string
		opts  PackOptions
		kind  error
		msg   string
	}{
		{"absolute", []string{"/etc/passwd"}, PackOptions{}, ErrBadPath, "/etc/passwd is absolute"},
		{"escaping", []string{"../x"}, PackOptions{}, ErrBadPath, "../x escapes the working directory"},
		{"escaping after inside", []string{"dir/../../x"}, PackOptions{}, ErrBadPath, "dir/../../x escapes"},
		{"empty", []string{""}, PackOptions{}, ErrBadPath, "an empty path"},
		{"missing", []string{"nope"}, PackOptions{}, ErrBadPath, "nope does not exist"},
		{"under a file", []string{"f/x"}, PackOptions{}, ErrBadPath, "f/x does not exist"},
		{"a symlink", []string{"link"}, PackOptions{}, ErrBadPath, "artifacts hold regular files and folders only; link is a symlink"},
		{"a symlink inside", []string{"dir"}, PackOptions{}, ErrBadPath, "dir/inner is a symlink"},
		{"a symlink on the way", []string{"dirlink/f"}, PackOptions{}, ErrBadPath, "dirlink is a symlink"},
		{"a fifo", []string{"fifo"}, PackOptions{}, ErrBadPath, "fifo is a named pipe"},
		{"a socket", []string{"sock"}, PackOptions{}, ErrBadPath, "sock is a socket"},
		{"too large", []string{"big", "f"}, PackOptions{MaxBytes: 999}, ErrTooLarge, "limit of 999 bytes at big"},
		{"too many", []string{"dir/f", "f", "big"}, PackOptions{MaxEntries: 2}, ErrTooLarge, "limit of 2 files and folders"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := pack(t, src, tc.paths, tc.opts)
			if !errors.Is(err, tc.kind) || !strings.Contains(err.Error(), tc.msg) {
				t.Fatalf("got %v, want %v naming %q", err, tc.kind, tc.msg)
			}
		})
	}
}
