// Command images builds krt's container images, and single-layer images
// from a root filesystem, as reproducible OCI tarballs; no docker engine is
// needed. `make images` runs `go run ./hack/images krt`.
//
//	images krt [-registry R] [-tag T] [-version V] [-platforms linux/amd64,...] [-out bin/images] [-push]
//	images dir -dir ROOTFS -tag local/pause:1 -out pause.tar [-entrypoint /pause] [-cmd a,b] [-user 65532]
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
)

const defaultPath = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

func main() {
	if err := run(context.Background(), os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "images:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, stdout io.Writer) error {
	if len(args) == 0 {
		return errors.New("want a subcommand: krt (krt's images) or dir (an image of a directory)")
	}
	switch args[0] {
	case "krt":
		return runKrt(ctx, args[1:], stdout)
	case "dir":
		return runDir(args[1:], stdout)
	}
	return fmt.Errorf("unknown subcommand %q: want krt or dir", args[0])
}

// krtImage is one of krt's images: which binaries it holds, and the
// first is its entrypoint.
type krtImage struct {
	name     string
	binaries []string
}

// The runtimed image's paths are fixed by controllers/runtime/podtemplate.go.
var krtImages = []krtImage{
	// krt is there for the chart's optional web UI (`krt ui --token-auth`),
	// which runs from this image with its own command.
	{name: "krt-controller", binaries: []string{"krt-controller", "krt"}},
	{name: "krt-runtimed", binaries: []string{"runtimed", "krt-runtime"}},
}

func runKrt(ctx context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("krt", flag.ContinueOnError)
	registry := fs.String("registry", envOr("IMAGE_REGISTRY", "ghcr.io/krt-dev"), "the images' repository prefix")
	tag := fs.String("tag", envOr("IMAGE_TAG", "devel"), "the images' tag")
	version := fs.String("version", "", "what `krt version` reports (default: the tag)")
	platforms := fs.String("platforms", "linux/amd64", "comma-separated os/arch[/variant]; more than one makes an index")
	out := fs.String("out", "bin/images", "directory for the OCI tarballs")
	caFile := fs.String("ca-certs", "/etc/ssl/certs/ca-certificates.crt", "CA bundle copied into the images")
	doPush := fs.Bool("push", false, "also push the images to -registry")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *version == "" {
		*version = *tag
	}
	plats, err := parsePlatforms(*platforms)
	if err != nil {
		return err
	}
	modRoot, err := goModRoot()
	if err != nil {
		return err
	}
	b, cleanup, err := newBuilder(modRoot)
	if err != nil {
		return err
	}
	defer cleanup()
	built, err := b.krt(modRoot, *version, *caFile, plats)
	if err != nil {
		return err
	}
	for _, ki := range krtImages {
		ref, err := name.NewTag(*registry + "/" + ki.name + ":" + *tag)
		if err != nil {
			return fmt.Errorf("-registry %q, -tag %q: %w", *registry, *tag, err)
		}
		if err := b.emit(ctx, built[ki.name], ref, filepath.Join(*out, ki.name+".tar"), *doPush, stdout); err != nil {
			return fmt.Errorf("%s: %w", ki.name, err)
		}
	}
	fmt.Fprintf(stdout, "load into containerd with: ctr -n k8s.io images import %s\n", filepath.Join(*out, "krt-*.tar"))
	return nil
}

// krt builds the binaries for each platform and returns each of krt's
// images: one image, or an index of one per platform.
func (b *builder) krt(modRoot, version, caFile string, plats []v1.Platform) (map[string]artifact, error) {
	base, err := baseEntries(caFile)
	if err != nil {
		return nil, err
	}
	perPlatform := map[string]map[string]v1.Image{}
	for _, p := range plats {
		binDir := filepath.Join(b.work, "bin-"+strings.ReplaceAll(p.String(), "/", "-"))
		if err := goBuild(modRoot, p, version, binDir); err != nil {
			return nil, err
		}
		for _, ki := range krtImages {
			bins, err := binaryEntries(binDir, ki.binaries...)
			if err != nil {
				return nil, err
			}
			cfg := v1.Config{Entrypoint: []string{"/" + ki.binaries[0]}, User: "65532:65532", Env: []string{defaultPath}}
			img, err := b.image(p, cfg, layer{base, "krt base: accounts, CA certificates, /tmp"},
				layer{bins, "krt " + version + ": " + strings.Join(ki.binaries, ", ")})
			if err != nil {
				return nil, err
			}
			if perPlatform[ki.name] == nil {
				perPlatform[ki.name] = map[string]v1.Image{}
			}
			perPlatform[ki.name][p.String()] = img
		}
	}
	built := map[string]artifact{}
	for n, imgs := range perPlatform {
		built[n] = index(imgs, plats)
		if len(plats) == 1 {
			built[n] = imgs[plats[0].String()]
		}
	}
	return built, nil
}

// goBuild builds krt's static binaries as the Makefile's build does, and
// with -trimpath so that where the tree lies does not change them.
func goBuild(modRoot string, p v1.Platform, version, outDir string) error {
	ldflags := "-s -w -X krt.dev/krt/cmd/krt/cli.Version=" + version
	cmd := exec.Command("go", "build", "-trimpath", "-buildvcs=false", "-ldflags", ldflags, "-o", outDir+"/",
		"./cmd/krt-controller", "./cmd/runtimed", "./cmd/krt-runtime", "./cmd/krt")
	cmd.Dir = modRoot
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS="+p.OS, "GOARCH="+p.Architecture)
	if p.Architecture == "arm" && p.Variant != "" {
		cmd.Env = append(cmd.Env, "GOARM="+strings.TrimPrefix(p.Variant, "v"))
	}
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("go build for %s: %w", p, err)
	}
	return nil
}

func runDir(args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("dir", flag.ContinueOnError)
	dir := fs.String("dir", "", "the root filesystem (required)")
	tag := fs.String("tag", "", "the image's reference, such as local/pause:1 (required)")
	out := fs.String("out", "", "the OCI tarball to write (required)")
	entrypoint := fs.String("entrypoint", "", `comma-separated, or a JSON array: ["/bin/sh","-c"]`)
	cmd := fs.String("cmd", "", "comma-separated, or a JSON array")
	user := fs.String("user", "", "the config's user, such as 65532:65532")
	platform := fs.String("platform", "linux/amd64", "the config's os/arch")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *dir == "" || *tag == "" || *out == "" {
		return errors.New("dir: -dir, -tag and -out are required")
	}
	cfg, err := dirConfig(*entrypoint, *cmd, *user)
	if err != nil {
		return err
	}
	p, err := v1.ParsePlatform(*platform)
	if err != nil {
		return fmt.Errorf("-platform %q: %w", *platform, err)
	}
	ref, err := name.NewTag(*tag)
	if err != nil {
		return fmt.Errorf("-tag %q: %w", *tag, err)
	}
	// The root may be a link (the walk would not enter it); links below
	// it stay links.
	root, err := filepath.EvalSymlinks(*dir)
	if info, serr := os.Stat(root); err != nil || serr != nil || !info.IsDir() {
		return fmt.Errorf("-dir %q is not a directory", *dir)
	}
	modRoot, _ := goModRoot()
	b, cleanup, err := newBuilder(modRoot)
	if err != nil {
		return err
	}
	defer cleanup()
	entries, skipped, err := dirEntries(root)
	if err != nil {
		return err
	}
	if len(skipped) > 0 {
		fmt.Fprintf(stdout, "skipped %d devices, sockets or pipes, such as %s\n", len(skipped), skipped[0])
	}
	img, err := b.image(*p, cfg, layer{entries, "images dir " + filepath.Base(*dir)})
	if err != nil {
		return err
	}
	return b.emit(context.Background(), img, ref, *out, false, stdout)
}

func dirConfig(entrypoint, cmd, user string) (v1.Config, error) {
	ep, err := argList("-entrypoint", entrypoint)
	if err != nil {
		return v1.Config{}, err
	}
	c, err := argList("-cmd", cmd)
	return v1.Config{Entrypoint: ep, Cmd: c, User: user, Env: []string{defaultPath}}, err
}

func argList(flagName, s string) ([]string, error) {
	if s == "" {
		return nil, nil
	}
	if !strings.HasPrefix(s, "[") {
		return strings.Split(s, ","), nil
	}
	var l []string
	if err := json.Unmarshal([]byte(s), &l); err != nil {
		return nil, fmt.Errorf("%s %q: not a JSON array of strings: %w", flagName, s, err)
	}
	return l, nil
}

func newBuilder(modRoot string) (*builder, func(), error) {
	epoch, err := sourceDateEpoch(modRoot)
	if err != nil {
		return nil, nil, err
	}
	work, err := os.MkdirTemp("", "krt-images-")
	if err != nil {
		return nil, nil, err
	}
	return &builder{work: work, epoch: epoch}, func() { os.RemoveAll(work) }, nil
}

// emit writes the tarball, pushes if asked, and says what it did.
func (b *builder) emit(ctx context.Context, a artifact, ref name.Tag, out string, doPush bool, stdout io.Writer) error {
	if err := b.writeOCITar(a, ref, out); err != nil {
		return err
	}
	d, err := a.Digest()
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "wrote %s: %s@%s\n", out, containerdName(ref), d)
	if !doPush {
		return nil
	}
	if err := push(ctx, a, ref); err != nil {
		return fmt.Errorf("push %s: %w", ref, err)
	}
	fmt.Fprintf(stdout, "pushed %s@%s\n", ref, d)
	return nil
}

// containerdName is the reference as containerd and the kubelet spell it:
// Docker Hub is docker.io, where go-containerregistry says index.docker.io.
func containerdName(ref name.Tag) string {
	if ref.RegistryStr() == name.DefaultRegistry {
		return "docker.io/" + ref.RepositoryStr() + ":" + ref.TagStr()
	}
	return ref.Name()
}

func parsePlatforms(s string) ([]v1.Platform, error) {
	var plats []v1.Platform
	seen := map[string]bool{}
	for _, f := range strings.Split(s, ",") {
		p, err := v1.ParsePlatform(strings.TrimSpace(f))
		if err != nil || p.OS == "" || p.Architecture == "" || seen[p.String()] {
			return nil, fmt.Errorf("-platforms %q: %q is not a new os/arch[/variant]", s, f)
		}
		seen[p.String()] = true
		plats = append(plats, *p)
	}
	return plats, nil
}

// goModRoot is the main module's directory, so that the command works from
// anywhere in the tree.
func goModRoot() (string, error) {
	out, err := exec.Command("go", "env", "GOMOD").Output()
	gomod := strings.TrimSpace(string(out))
	if err != nil || gomod == "" || gomod == os.DevNull {
		return "", errors.New("run inside krt's module: go env GOMOD found none")
	}
	return filepath.Dir(gomod), nil
}

func envOr(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}
