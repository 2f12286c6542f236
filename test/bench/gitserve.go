package main

import (
	"fmt"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"krt.dev/krt/sources/gitserver"
)

// gitHost serves bare repositories over HTTP through the real `git
// http-backend`, so the controller under test fetches with the same
// protocol it would use against a forge.
type gitHost struct {
	srv  *gitserver.Server
	http *httptest.Server
	git  gitCLI
	dir  string
}

func startGitHost(dir string) (*gitHost, error) {
	srv, err := gitserver.New(gitserver.Options{Root: filepath.Join(dir, "served")})
	if err != nil {
		return nil, err
	}
	home := filepath.Join(dir, "home")
	if err := os.MkdirAll(home, 0o700); err != nil {
		return nil, err
	}
	return &gitHost{srv: srv, http: httptest.NewServer(srv), git: gitCLI{home: home}, dir: dir}, nil
}

func (h *gitHost) url(name string) string { return h.http.URL + "/" + name + ".git" }

func (h *gitHost) close() { h.http.Close() }

// fetches is how many object fetches the server answered, over all its
// repositories: what the controller's shared cache should keep to one per
// URL and revision.
func (h *gitHost) fetches() int {
	n := 0
	for _, c := range h.srv.Counts() {
		n += c.Fetches
	}
	return n
}

// workTree is a developer's working copy of a served repository: files
// are written, committed and pushed with the git CLI, as a real push is.
type workTree struct {
	git gitCLI
	dir string
}

// newTree creates the repository on the server and an empty working copy
// whose origin is it. Initialising rather than cloning avoids cloning an
// empty repository, which git warns about.
func (h *gitHost) newTree(name string) (*workTree, error) {
	if _, err := h.srv.CreateRepo(name); err != nil {
		return nil, err
	}
	t := &workTree{git: h.git, dir: filepath.Join(h.dir, "work", name)}
	if _, err := t.git.run("", "init", "--quiet", t.dir); err != nil {
		return nil, err
	}
	if _, err := t.git.run(t.dir, "remote", "add", "origin", h.url(name)); err != nil {
		return nil, err
	}
	return t, nil
}

// commitPush writes files (by slash path), commits them and pushes main,
// returning the new commit.
func (t *workTree) commitPush(files map[string]string, msg string) (string, error) {
	for name, content := range files {
		p := filepath.Join(t.dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return "", err
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			return "", err
		}
	}
	steps := [][]string{
		{"add", "--all"},
		{"commit", "--quiet", "-m", msg},
		{"push", "--quiet", "origin", "HEAD:refs/heads/main"},
	}
	for _, args := range steps {
		if _, err := t.git.run(t.dir, args...); err != nil {
			return "", err
		}
	}
	return t.git.run(t.dir, "rev-parse", "HEAD")
}

// gitCLI runs the machine's git with no system or user configuration and a
// fixed identity, so the bench behaves the same whoever runs it.
type gitCLI struct{ home string }

func (g gitCLI) run(dir string, args ...string) (string, error) {
	fixed := []string{
		"-c", "user.name=krt bench", "-c", "user.email=bench@krt.dev",
		"-c", "commit.gpgsign=false", "-c", "init.defaultBranch=main", "-c", "credential.helper=",
	}
	cmd := exec.Command("git", append(fixed, args...)...)
	cmd.Dir = dir
	// Later entries win over the caller's environment.
	cmd.Env = append(os.Environ(), "GIT_CONFIG_NOSYSTEM=1", "HOME="+g.home, "XDG_CONFIG_HOME="+g.home,
		"GIT_TERMINAL_PROMPT=0")
	out, err := cmd.CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("git %s: %v: %s", strings.Join(args, " "), err, out)
	}
	return strings.TrimSpace(string(out)), nil
}

// workflowYAML is a small valid workflow whose one step echoes its name.
func workflowYAML(name string) string {
	return fmt.Sprintf(`apiVersion: krt.dev/v1alpha1
kind: Workflow
metadata:
  name: %s
  labels:
    team: platform
spec:
  on:
    manual: {}
  steps:
    - name: hello
      runtime: bash
      run: echo %q
`, name, name)
}
