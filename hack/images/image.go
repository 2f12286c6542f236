package main

import (
	"archive/tar"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// The account distroless calls nonroot, which the chart and runtime pods
// run as.
const nonRoot = 65532

// The annotations by which `ctr images import` (and other OCI tools) name
// an image found in an OCI layout.
const (
	annotationRefName        = "org.opencontainers.image.ref.name"
	annotationContainerdName = "io.containerd.image.name"
)

// baseEntries are what distroless/static gave krt's images: accounts for
// root and nonroot, the build host's CA certificates (the controller
// fetches git over HTTPS) and a world-writable /tmp. There is no shell.
func baseEntries(caFile string) ([]entry, error) {
	ca, err := os.ReadFile(caFile)
	if err != nil {
		return nil, fmt.Errorf("CA certificates for the images: %w", err)
	}
	passwd := "root:x:0:0:root:/root:/sbin/nologin\n" +
		"nonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n"
	group := "root:x:0:\nnonroot:x:65532:\n"
	home := dirEntry("home/nonroot", 0o700)
	home.hdr.Uid, home.hdr.Gid = nonRoot, nonRoot
	return []entry{
		dirEntry("etc", 0o755),
		fileEntry("etc/passwd", 0o644, []byte(passwd)),
		fileEntry("etc/group", 0o644, []byte(group)),
		dirEntry("etc/ssl", 0o755),
		dirEntry("etc/ssl/certs", 0o755),
		fileEntry("etc/ssl/certs/ca-certificates.crt", 0o644, ca),
		dirEntry("home", 0o755),
		home,
		dirEntry("root", 0o700),
		dirEntry("tmp", 0o1777),
	}, nil
}

// binaryEntries puts each built binary at /<name>, executable by anyone,
// writable by no one but root.
func binaryEntries(dir string, names ...string) ([]entry, error) {
	var entries []entry
	for _, n := range names {
		p := filepath.Join(dir, n)
		info, err := os.Stat(p)
		if err != nil {
			return nil, err
		}
		e, _, err := fileInfoEntry(p, n, info)
		if err != nil {
			return nil, err
		}
		e.hdr.Mode = 0o755
		entries = append(entries, e)
	}
	return entries, nil
}

// layer is a layer's files and the history line that says where they
// came from.
type layer struct {
	entries   []entry
	createdBy string
}

// builder assembles images; its work directory holds the layer files
// until the images are written or pushed.
type builder struct {
	work  string
	epoch time.Time
	n     int
}

func (b *builder) layer(l layer) (mutate.Addendum, error) {
	b.n++
	path := filepath.Join(b.work, fmt.Sprintf("layer-%d.tar.gz", b.n))
	if err := writeLayerFile(path, l.entries, b.epoch); err != nil {
		return mutate.Addendum{}, err
	}
	lay, err := tarball.LayerFromFile(path, tarball.WithMediaType(types.OCILayer))
	return mutate.Addendum{
		Layer:     lay,
		MediaType: types.OCILayer,
		History:   v1.History{Created: v1.Time{Time: b.epoch}, CreatedBy: l.createdBy},
	}, err
}

// image is an OCI image of the layers, with everything that could vary
// between two builds (times, media types) fixed.
func (b *builder) image(p v1.Platform, cfg v1.Config, layers ...layer) (v1.Image, error) {
	img := mutate.ConfigMediaType(mutate.MediaType(empty.Image, types.OCIManifestSchema1), types.OCIConfigJSON)
	for _, l := range layers {
		add, err := b.layer(l)
		if err != nil {
			return nil, err
		}
		if img, err = mutate.Append(img, add); err != nil {
			return nil, err
		}
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, err
	}
	cf = cf.DeepCopy()
	cf.Created = v1.Time{Time: b.epoch}
	cf.OS, cf.Architecture, cf.Variant, cf.OSVersion = p.OS, p.Architecture, p.Variant, p.OSVersion
	cf.Config = cfg
	return mutate.ConfigFile(img, cf)
}

// artifact is a v1.Image or, for several platforms, a v1.ImageIndex.
type artifact interface {
	remote.Taggable
	Digest() (v1.Hash, error)
}

// index puts one image per platform into an OCI index.
func index(imgs map[string]v1.Image, platforms []v1.Platform) artifact {
	idx := mutate.IndexMediaType(empty.Index, types.OCIImageIndex)
	for _, p := range platforms {
		p := p
		idx = mutate.AppendManifests(idx, mutate.IndexAddendum{
			Add:        imgs[p.String()],
			Descriptor: v1.Descriptor{Platform: &p},
		})
	}
	return idx
}

// writeOCITar writes an OCI layout as one tar, the form `ctr images
// import` and `skopeo copy oci-archive:` read, naming it by ref.
func (b *builder) writeOCITar(a artifact, ref name.Tag, out string) error {
	dir, err := os.MkdirTemp(b.work, "layout-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	p, err := layout.Write(dir, empty.Index)
	if err != nil {
		return err
	}
	ann := layout.WithAnnotations(map[string]string{
		annotationRefName:        ref.TagStr(),
		annotationContainerdName: containerdName(ref),
	})
	switch a := a.(type) {
	case v1.ImageIndex:
		err = p.AppendIndex(a, ann)
	case v1.Image:
		err = p.AppendImage(a, ann)
	default:
		err = fmt.Errorf("%T is neither an image nor an index", a)
	}
	if err != nil {
		return err
	}
	entries, _, err := dirEntries(dir)
	if err != nil {
		return err
	}
	// The layout's own modes follow the umask; the archive's should not.
	for i := range entries {
		entries[i].hdr.Mode = 0o644
		if entries[i].hdr.Typeflag == tar.TypeDir {
			entries[i].hdr.Mode = 0o755
		}
	}
	return writeFileAtomically(out, func(f *os.File) error { return writeTar(f, entries, b.epoch) })
}

// push writes the image to its registry with the credentials the build
// host's docker config (or credential helpers) holds for it.
func push(ctx context.Context, a artifact, ref name.Tag) error {
	return remote.Push(ref, a, remote.WithContext(ctx), remote.WithAuthFromKeychain(authn.DefaultKeychain))
}

func writeFileAtomically(path string, write func(*os.File) error) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	f, err := os.CreateTemp(filepath.Dir(path), ".tmp-"+filepath.Base(path))
	if err != nil {
		return err
	}
	defer os.Remove(f.Name())
	err = write(f)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Chmod(f.Name(), 0o644)
	}
	if err != nil {
		return err
	}
	return os.Rename(f.Name(), path)
}
