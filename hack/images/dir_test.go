package main

import (
	"archive/tar"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// rootfs writes a small root filesystem: a tool, a link to it, and the
// files an attacker who prepares the directory would plant.
func rootfs(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(os.MkdirAll(filepath.Join(dir, "bin"), 0o755))
	must(os.WriteFile(filepath.Join(dir, "bin/tool"), []byte("#!tool\n"), 0o750))
	must(os.Chmod(filepath.Join(dir, "bin/tool"), 0o750))
	must(os.Symlink("tool", filepath.Join(dir, "bin/sh")))
	must(os.MkdirAll(filepath.Join(dir, "data"), 0o700))
	must(os.WriteFile(filepath.Join(dir, "data/secret"), []byte("x"), 0o600))
	must(os.Chmod(filepath.Join(dir, "data/secret"), 0o600))
	// A link to a build host's file, which must stay a link.
	must(os.Symlink("/etc/passwd", filepath.Join(dir, "hostpasswd")))
	must(os.Symlink("../../../../etc", filepath.Join(dir, "hostetc")))
	// A setuid binary owned by someone other than root.
	evil := filepath.Join(dir, "bin/evil")
	must(os.WriteFile(evil, []byte("#!evil\n"), 0o755))
	if os.Getuid() == 0 {
		must(os.Chown(evil, 1234, 1234))
	}
	must(os.Chmod(evil, 0o755|os.ModeSetuid|os.ModeSetgid))
	return dir
}

func TestDirImage(t *testing.T) {
	t.Setenv("SOURCE_DATE_EPOCH", "1700000000")
	// Through a link to the directory, which is followed as the root.
	dir := filepath.Join(t.TempDir(), "rootfs")
	if err := os.Symlink(rootfs(t), dir); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "img.tar")
	if err := runQuiet("dir", "-dir", dir, "-tag", "local/tool:1", "-out", out,
		"-entrypoint", "/bin/tool,-v", "-cmd", `["a b","c"]`, "-user", "65532"); err != nil {
		t.Fatal(err)
	}
	o := readOCITar(t, out)
	if got := o.entry.Annotations[annotationContainerdName]; got != "docker.io/local/tool:1" {
		t.Errorf("%s = %q, want docker.io/local/tool:1 (as the kubelet names local/tool:1)", annotationContainerdName, got)
	}
	img := o.image(t)
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(cf.Config.Entrypoint, "|") != "/bin/tool|-v" || strings.Join(cf.Config.Cmd, "|") != "a b|c" || cf.Config.User != "65532" {
		t.Errorf("config entrypoint %q cmd %q user %q", cf.Config.Entrypoint, cf.Config.Cmd, cf.Config.User)
	}
	files := imageFiles(t, img)
	for _, tc := range []struct {
		path string
		typ  byte
		mode int64
		link string
	}{
		{"/bin", tar.TypeDir, 0o755, ""},
		{"/bin/tool", tar.TypeReg, 0o750, ""},
		{"/bin/sh", tar.TypeSymlink, 0o777, "tool"},
		{"/data", tar.TypeDir, 0o700, ""},
		{"/data/secret", tar.TypeReg, 0o600, ""},
		// The attack: links out of the directory are kept as links, so
		// none of the build host's files gets into the image.
		{"/hostpasswd", tar.TypeSymlink, 0o777, "/etc/passwd"},
		{"/hostetc", tar.TypeSymlink, 0o777, "../../../../etc"},
		// The attack: a setuid file that root did not own is not made
		// setuid-root by becoming root's in the image.
		{"/bin/evil", tar.TypeReg, 0o755, ""},
	} {
		f, ok := files[tc.path]
		if !ok || f.hdr.Typeflag != tc.typ || f.hdr.Mode != tc.mode || f.hdr.Linkname != tc.link {
			t.Errorf("%s: got present=%v type %c mode %o link %q, want type %c mode %o link %q",
				tc.path, ok, f.hdr.Typeflag, f.hdr.Mode, f.hdr.Linkname, tc.typ, tc.mode, tc.link)
		}
		if ok && (f.hdr.Uid != 0 || f.hdr.Gid != 0) {
			t.Errorf("%s: owner %d:%d, want root", tc.path, f.hdr.Uid, f.hdr.Gid)
		}
	}
	if len(files) != 8 {
		t.Errorf("the image has %d files, want the directory's 8", len(files))
	}
}

func TestDirImageKeepsRootsSetuid(t *testing.T) {
	if os.Getuid() != 0 {
		t.Skip("needs root, to own a setuid file as root")
	}
	dir := t.TempDir()
	su := filepath.Join(dir, "su")
	if err := os.WriteFile(su, []byte("#!su\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	os.Chmod(su, 0o755|os.ModeSetuid)
	out := filepath.Join(t.TempDir(), "img.tar")
	if err := runQuiet("dir", "-dir", dir, "-tag", "local/su:1", "-out", out); err != nil {
		t.Fatal(err)
	}
	if f := imageFiles(t, readOCITar(t, out).image(t))["/su"]; f.hdr.Mode != 0o4755 {
		t.Errorf("/su mode %o, want 4755 as root owned it", f.hdr.Mode)
	}
}

func TestDirImageErrors(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"-tag", "a:1", "-out", "x.tar"}, "-dir, -tag and -out are required"},
		{[]string{"-dir", filepath.Join(dir, "none"), "-tag", "a:1", "-out", "x.tar"}, "is not a directory"},
		{[]string{"-dir", dir, "-tag", "UPPER:1", "-out", "x.tar"}, `-tag "UPPER:1"`},
		{[]string{"-dir", dir, "-tag", "a:1", "-out", "x.tar", "-cmd", "[1]"}, `-cmd "[1]"`},
	} {
		err := runQuiet(append([]string{"dir"}, tc.args...)...)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: got %v, want an error with %q", tc.args, err, tc.want)
		}
	}
}

// An index for several platforms, assembled from small images: the
// tarball's one entry is the index, named, with a manifest per platform.
func TestIndexOfPlatforms(t *testing.T) {
	b, cleanup, err := newBuilder("")
	if err != nil {
		t.Fatal(err)
	}
	defer cleanup()
	plats, err := parsePlatforms("linux/amd64,linux/arm64")
	if err != nil {
		t.Fatal(err)
	}
	imgs := map[string]v1.Image{}
	for _, p := range plats {
		l := layer{[]entry{fileEntry("arch", 0o644, []byte(p.Architecture))}, "test"}
		if imgs[p.String()], err = b.image(p, v1.Config{}, l); err != nil {
			t.Fatal(err)
		}
	}
	out := filepath.Join(t.TempDir(), "multi.tar")
	if err := b.emit(t.Context(), index(imgs, plats), mustTag(t, "example.test/multi:1"), out, false, io.Discard); err != nil {
		t.Fatal(err)
	}
	o := readOCITar(t, out)
	if !o.entry.MediaType.IsIndex() || o.entry.Annotations[annotationContainerdName] != "example.test/multi:1" {
		t.Fatalf("entry %s annotations %v, want a named index", o.entry.MediaType, o.entry.Annotations)
	}
	outer, err := o.path.ImageIndex()
	if err != nil {
		t.Fatal(err)
	}
	idx, err := outer.ImageIndex(o.entry.Digest)
	if err != nil {
		t.Fatal(err)
	}
	im, err := idx.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, m := range im.Manifests {
		got = append(got, m.Platform.String())
	}
	if strings.Join(got, ",") != "linux/amd64,linux/arm64" {
		t.Errorf("the index lists %v, want linux/amd64 and linux/arm64", got)
	}
}

func TestParsePlatformsErrors(t *testing.T) {
	for _, s := range []string{"", "linux", "linux/amd64,linux/amd64"} {
		if _, err := parsePlatforms(s); err == nil || !strings.Contains(err.Error(), "-platforms") {
			t.Errorf("%q: got %v, want an error naming -platforms", s, err)
		}
	}
}

func mustTag(t *testing.T, s string) name.Tag {
	t.Helper()
	tag, err := name.NewTag(s)
	if err != nil {
		t.Fatal(err)
	}
	return tag
}
