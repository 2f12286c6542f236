// Package gittest drives the real git CLI for tests: a served repository, a
// working clone, commits, tags and pushes. Every command runs with a fixed
// identity, no signing and no user or system config, so it behaves the same
// on a fresh machine as on a developer's.
package gittest

import (
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"krt.dev/krt/sources/gitserver"
)

// Served is a git server on a local port with one repository in it.
type Served struct {
	Server *gitserver.Server
	HTTP   *httptest.Server
	// URL is the repository's clone URL, without credentials.
	URL string
	// Dir is the bare repository on disk.
	Dir string
}

// Serve starts a server for opts (Root defaults to a temporary directory)
// holding the empty repository name. It stops when the test ends.
func Serve(t testing.TB, opts gitserver.Options, name string) *Served {
	t.Helper()
	if opts.Root == "" {
		opts.Root = t.TempDir()
	}
	srv, err := gitserver.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	dir, err := srv.CreateRepo(name)
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv)
	t.Cleanup(hs.Close)
	return &Served{Server: srv, HTTP: hs, URL: hs.URL + "/" + name + ".git", Dir: dir}
}

// WithUser returns rawURL with basic-auth credentials in it.
func WithUser(t testing.TB, rawURL, user, password string) string {
	t.Helper()
	u, err := url.Parse(rawURL)
	if err != nil {
		t.Fatal(err)
	}
	u.User = url.UserPassword(user, password)
	return u.String()
}

// Clone is a working copy of a served repository.
type Clone struct {
	t   testing.TB
	Dir string
}

// NewClone clones rawURL (which may be empty) into a temporary directory.
func NewClone(t testing.TB, rawURL string) *Clone {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "work")
	if out, err := Git("", "clone", "--quiet", rawURL, dir); err != nil {
		t.Fatalf("git clone: %v: %s", err, out)
	}
	return &Clone{t: t, Dir: dir}
}

// Git runs git in dir and returns its trimmed combined output.
func Git(dir string, args ...string) (string, error) {
	base := []string{
		"-c", "user.name=krt test", "-c", "user.email=test@krt.dev",
		"-c", "commit.gpgsign=false", "-c", "tag.gpgsign=false",
		"-c", "init.defaultBranch=main", "-c", "credential.helper=",
	}
	cmd := exec.Command("git", append(base, args...)...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(),
		"GIT_CONFIG_NOSYSTEM=1", "GIT_CONFIG_GLOBAL=/dev/null",
		"GIT_TERMINAL_PROMPT=0", "GIT_ASKPASS=", "SSH_ASKPASS=")
	out, err := cmd.CombinedOutput()
	return strings.TrimSpace(string(out)), err
}

// Run runs git in the clone, failing the test on error.
func (c *Clone) Run(args ...string) string {
	c.t.Helper()
	out, err := Git(c.Dir, args...)
	if err != nil {
		c.t.Fatalf("git %s: %v: %s", strings.Join(args, " "), err, out)
	}
	return out
}

// Write writes files, by path relative to the clone, creating folders.
func (c *Clone) Write(files map[string]string) {
	c.t.Helper()
	for name, content := range files {
		p := filepath.Join(c.Dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			c.t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			c.t.Fatal(err)
		}
	}
}

// Remove deletes files, by path relative to the clone.
func (c *Clone) Remove(names ...string) {
	c.t.Helper()
	for _, name := range names {
		if err := os.Remove(filepath.Join(c.Dir, filepath.FromSlash(name))); err != nil {
			c.t.Fatal(err)
		}
	}
}

// Commit stages everything and commits it, returning the commit hash.
func (c *Clone) Commit(msg string) string {
	c.t.Helper()
	c.Run("add", "--all")
	c.Run("commit", "--quiet", "--allow-empty", "-m", msg)
	return c.Run("rev-parse", "HEAD")
}

// Tag tags HEAD, as an annotated tag when annotated is set.
func (c *Clone) Tag(name string, annotated bool) {
	c.t.Helper()
	if annotated {
		c.Run("tag", "-a", "-m", "release "+name, name)
		return
	}
	c.Run("tag", name)
}

// Push pushes refspecs (e.g. "main", "v1.0.0", "HEAD:refs/pull/1/head")
// to origin.
func (c *Clone) Push(refspecs ...string) {
	c.t.Helper()
	c.Run(append([]string{"push", "--quiet", "origin"}, refspecs...)...)
}
