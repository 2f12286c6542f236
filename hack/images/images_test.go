package main

import (
	"archive/tar"
	"bytes"
	"context"
	"io"
	"log"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// A fixed SOURCE_DATE_EPOCH, so the tests do not depend on HEAD.
const testEpoch = 1700000000

var (
	krtOnce sync.Once
	krtOut  string
	krtErr  error
)

// builtKrt runs `images krt` once for the package's tests; building the
// binaries is what takes time.
func builtKrt(t *testing.T) string {
	t.Helper()
	t.Setenv("SOURCE_DATE_EPOCH", "1700000000")
	krtOnce.Do(func() {
		krtOut, krtErr = os.MkdirTemp("", "krt-images-test-")
		if krtErr == nil {
			krtErr = runQuiet("krt", "-registry", "example.test/krt", "-tag", "t1", "-out", krtOut)
		}
	})
	if krtErr != nil {
		t.Fatal(krtErr)
	}
	return krtOut
}

func TestMain(m *testing.M) {
	code := m.Run()
	if krtOut != "" {
		os.RemoveAll(krtOut)
	}
	os.Exit(code)
}

func runQuiet(args ...string) error {
	var out bytes.Buffer
	return run(context.Background(), args, &out)
}

// ociTar is what a tarball written by the command holds.
type ociTar struct {
	entry v1.Descriptor // the one entry of index.json
	path  layout.Path
}

func readOCITar(t *testing.T, file string) ociTar {
	t.Helper()
	f, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	dir := t.TempDir()
	tr := tar.NewReader(f)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(dir, h.Name)
		if h.Typeflag == tar.TypeDir {
			os.MkdirAll(p, 0o755)
			continue
		}
		os.MkdirAll(filepath.Dir(p), 0o755)
		body, _ := io.ReadAll(tr)
		if err := os.WriteFile(p, body, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	lp := layout.Path(dir)
	idx, err := lp.ImageIndex()
	if err != nil {
		t.Fatal(err)
	}
	im, err := idx.IndexManifest()
	if err != nil || len(im.Manifests) != 1 {
		t.Fatalf("%s: index.json has %d entries, want 1 (%v)", file, len(im.Manifests), err)
	}
	return ociTar{entry: im.Manifests[0], path: lp}
}

func (o ociTar) image(t *testing.T) v1.Image {
	t.Helper()
	img, err := o.path.Image(o.entry.Digest)
	if err != nil {
		t.Fatal(err)
	}
	return img
}

// file is one file of an image's flattened filesystem.
type file struct {
	hdr  tar.Header
	body []byte
}

// imageFiles reads the layers as written, in order: unlike
// mutate.Extract, which drops links it finds unsafe, it shows exactly what
// a container runtime is given.
func imageFiles(t *testing.T, img v1.Image) map[string]file {
	t.Helper()
	layers, err := img.Layers()
	if err != nil {
		t.Fatal(err)
	}
	files := map[string]file{}
	for _, l := range layers {
		rc, err := l.Uncompressed()
		if err != nil {
			t.Fatal(err)
		}
		tr := tar.NewReader(rc)
		for {
			h, err := tr.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(tr)
			files["/"+strings.TrimSuffix(h.Name, "/")] = file{*h, body}
		}
		rc.Close()
	}
	return files
}

func TestKrtImagesAreReproducible(t *testing.T) {
	first := builtKrt(t)
	second := t.TempDir()
	if err := runQuiet("krt", "-registry", "example.test/krt", "-tag", "t1", "-out", second); err != nil {
		t.Fatal(err)
	}
	for _, n := range []string{"krt-controller.tar", "krt-runtimed.tar"} {
		a, b := readOCITar(t, filepath.Join(first, n)), readOCITar(t, filepath.Join(second, n))
		if a.entry.Digest != b.entry.Digest {
			t.Errorf("%s: built twice, digests %s and %s", n, a.entry.Digest, b.entry.Digest)
		}
		ab, _ := os.ReadFile(filepath.Join(first, n))
		bb, _ := os.ReadFile(filepath.Join(second, n))
		if !bytes.Equal(ab, bb) {
			t.Errorf("%s: built twice, the tarballs differ", n)
		}
	}
}

func TestKrtImages(t *testing.T) {
	out := builtKrt(t)
	ca, err := os.ReadFile("/etc/ssl/certs/ca-certificates.crt")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		image      string
		entrypoint string
		binaries   []string
	}{
		{"krt-controller", "/krt-controller", []string{"/krt-controller", "/krt"}},
		{"krt-runtimed", "/runtimed", []string{"/runtimed", "/krt-runtime"}},
	} {
		t.Run(tc.image, func(t *testing.T) {
			o := readOCITar(t, filepath.Join(out, tc.image+".tar"))
			wantName := "example.test/krt/" + tc.image + ":t1"
			if got := o.entry.Annotations[annotationContainerdName]; got != wantName {
				t.Errorf("%s = %q, want %q", annotationContainerdName, got, wantName)
			}
			if got := o.entry.Annotations[annotationRefName]; got != "t1" {
				t.Errorf("%s = %q, want t1", annotationRefName, got)
			}
			img := o.image(t)
			cf, err := img.ConfigFile()
			if err != nil {
				t.Fatal(err)
			}
			if cf.Config.User != "65532:65532" || len(cf.Config.Entrypoint) != 1 || cf.Config.Entrypoint[0] != tc.entrypoint {
				t.Errorf("config user %q entrypoint %q, want 65532:65532 and [%s]", cf.Config.User, cf.Config.Entrypoint, tc.entrypoint)
			}
			if cf.OS != "linux" || cf.Architecture != "amd64" || !cf.Created.Time.Equal(time.Unix(testEpoch, 0)) {
				t.Errorf("config %s/%s created %v, want linux/amd64 at SOURCE_DATE_EPOCH", cf.OS, cf.Architecture, cf.Created)
			}
			files := imageFiles(t, img)
			for _, b := range tc.binaries {
				f, ok := files[b]
				if !ok || f.hdr.Typeflag != tar.TypeReg || f.hdr.Mode != 0o755 || !bytes.HasPrefix(f.body, []byte("\x7fELF")) {
					t.Errorf("%s: want an executable ELF file with mode 0755, got %v (mode %o)", b, ok, f.hdr.Mode)
				}
			}
			for _, p := range []string{"/bin/sh", "/bin/bash", "/bin/busybox", "/usr/bin/sh"} {
				if _, ok := files[p]; ok {
					t.Errorf("%s is in the image: it must have no shell", p)
				}
			}
			if !strings.Contains(string(files["/etc/passwd"].body), "nonroot:x:65532:65532:") ||
				!strings.Contains(string(files["/etc/group"].body), "nonroot:x:65532:") {
				t.Errorf("/etc/passwd or /etc/group lacks nonroot (65532)")
			}
			if !bytes.Equal(files["/etc/ssl/certs/ca-certificates.crt"].body, ca) {
				t.Errorf("the CA bundle is not the build host's")
			}
			if tmp := files["/tmp"]; tmp.hdr.Typeflag != tar.TypeDir || tmp.hdr.Mode != 0o1777 {
				t.Errorf("/tmp mode %o, want a directory with mode 1777", tmp.hdr.Mode)
			}
			for p, f := range files {
				if !f.hdr.ModTime.Equal(time.Unix(testEpoch, 0)) {
					t.Errorf("%s: time %v, want SOURCE_DATE_EPOCH", p, f.hdr.ModTime)
				}
			}
		})
	}
}

func TestKrtPush(t *testing.T) {
	builtKrt(t)
	srv := httptest.NewServer(registry.New(registry.Logger(log.New(io.Discard, "", 0))))
	defer srv.Close()
	reg := strings.TrimPrefix(srv.URL, "http://") + "/krt"
	out := t.TempDir()
	if err := runQuiet("krt", "-registry", reg, "-tag", "t2", "-out", out, "-push"); err != nil {
		t.Fatal(err)
	}
	for _, n := range []string{"krt-controller", "krt-runtimed"} {
		local := readOCITar(t, filepath.Join(out, n+".tar"))
		desc, err := remote.Get(mustTag(t, reg+"/"+n+":t2"))
		if err != nil {
			t.Fatalf("%s: read back from the registry: %v", n, err)
		}
		if desc.Digest != local.entry.Digest {
			t.Errorf("%s: pushed %s, the tarball holds %s", n, desc.Digest, local.entry.Digest)
		}
	}
}
