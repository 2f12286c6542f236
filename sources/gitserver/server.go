// Package gitserver serves bare git repositories over HTTP through the
// machine's own `git http-backend`, for the dev stack and for tests that need
// a real git server: real clients, real protocol, real pushes.
//
// It adds three things around http-backend: optional basic auth, per
// repository request counts (so a test can prove that nothing was fetched),
// and a callback for every ref a push moved (so the dev stack can send a
// webhook).
package gitserver

import (
	"crypto/subtle"
	"errors"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/cgi"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
)

// Options configure a Server.
type Options struct {
	// Root holds the bare repositories, each as <Root>/<name>.git.
	Root string
	// Username and Password, when Username is set, are required as HTTP
	// basic auth on every request.
	Username, Password string
	// OnPush is called once for every ref a push created, moved or deleted.
	// It runs before the push request completes, so a client whose push
	// returned knows its events were delivered; hand slow work off. Pushes
	// to different repositories may call it concurrently.
	OnPush func(PushEvent)
	// Git is the git binary; "git" from PATH when empty.
	Git string
	// Log receives http-backend's stderr and the CGI handler's errors;
	// they are discarded when Log is nil.
	Log io.Writer
}

// PushEvent says that a push moved Ref of Repo from Before to After.
// Before is empty for a new ref and After is empty for a deleted one.
type PushEvent struct {
	Repo   string // the name given to CreateRepo, without ".git"
	Ref    string // e.g. refs/heads/main
	Before string
	After  string
}

// Server is an http.Handler serving the repositories under Options.Root.
type Server struct {
	opts    Options
	backend *cgi.Handler
	counts  counter

	// pushMu serialises pushes per repository, so the refs read before and
	// after a push belong to that push alone.
	pushMu sync.Mutex
	pushes map[string]*sync.Mutex
}

// New checks the options and finds the git binary.
func New(opts Options) (*Server, error) {
	if opts.Root == "" {
		return nil, errors.New("gitserver: Root is required")
	}
	root, err := filepath.Abs(opts.Root)
	if err != nil {
		return nil, fmt.Errorf("gitserver: %w", err)
	}
	if err := os.MkdirAll(root, 0o755); err != nil {
		return nil, fmt.Errorf("gitserver: %w", err)
	}
	opts.Root = root
	if opts.Git == "" {
		opts.Git = "git"
	}
	bin, err := exec.LookPath(opts.Git)
	if err != nil {
		return nil, fmt.Errorf("gitserver: the git binary: %w", err)
	}
	opts.Git = bin
	return &Server{opts: opts, backend: newBackend(opts), pushes: map[string]*sync.Mutex{}}, nil
}

// newBackend runs http-backend without the caller's git config, so a
// developer's ~/.gitconfig cannot change what the server does.
func newBackend(opts Options) *cgi.Handler {
	logTo := opts.Log
	if logTo == nil {
		logTo = io.Discard
	}
	return &cgi.Handler{
		Path: opts.Git,
		Args: []string{"-c", "http.receivepack=true", "http-backend"},
		Dir:  opts.Root,
		Env: []string{
			"GIT_PROJECT_ROOT=" + opts.Root,
			"GIT_HTTP_EXPORT_ALL=1",
			"GIT_CONFIG_NOSYSTEM=1",
			"GIT_CONFIG_GLOBAL=/dev/null",
		},
		InheritEnv: []string{"PATH"},
		Stderr:     logTo,
		Logger:     log.New(logTo, "gitserver: ", 0),
	}
}

// ServeHTTP authenticates, counts, and hands the request to http-backend.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if !s.authorized(r) {
		w.Header().Set("WWW-Authenticate", `Basic realm="git"`)
		http.Error(w, "authentication required", http.StatusUnauthorized)
		return
	}
	req, ok := parseRequest(r)
	if !ok {
		http.NotFound(w, r)
		return
	}
	kind := s.kind(req, r)
	s.counts.add(req.repo, kind)
	if kind == kindFetch {
		w = countingWriter{ResponseWriter: w, add: func(n int) { s.counts.addBytes(req.repo, n) }}
	}
	cleanup, err := unchunk(r)
	if err != nil {
		http.Error(w, "reading the request: "+err.Error(), http.StatusBadRequest)
		return
	}
	defer cleanup()
	if req.service == receivePack && r.Method == http.MethodPost {
		s.servePush(w, r, req.repo)
		return
	}
	s.backend.ServeHTTP(w, r)
}

func (s *Server) authorized(r *http.Request) bool {
	if s.opts.Username == "" {
		return true
	}
	user, pass, ok := r.BasicAuth()
	if !ok {
		return false
	}
	userOK := subtle.ConstantTimeCompare([]byte(user), []byte(s.opts.Username)) == 1
	passOK := subtle.ConstantTimeCompare([]byte(pass), []byte(s.opts.Password)) == 1
	return userOK && passOK
}

// servePush runs the push and reports every ref it moved. Refused updates
// move nothing, so diffing the refs needs no parsing of the push report.
func (s *Server) servePush(w http.ResponseWriter, r *http.Request, repo string) {
	mu := s.pushLock(repo)
	mu.Lock()
	defer mu.Unlock()
	dir := s.repoDir(repo)
	before, errBefore := readRefs(dir)
	s.backend.ServeHTTP(w, r)
	if s.opts.OnPush == nil || errBefore != nil {
		return
	}
	after, err := readRefs(dir)
	if err != nil {
		return
	}
	for _, ev := range movedRefs(repo, before, after) {
		s.opts.OnPush(ev)
	}
}

func (s *Server) pushLock(repo string) *sync.Mutex {
	s.pushMu.Lock()
	defer s.pushMu.Unlock()
	mu, ok := s.pushes[repo]
	if !ok {
		mu = &sync.Mutex{}
		s.pushes[repo] = mu
	}
	return mu
}

func (s *Server) repoDir(repo string) string {
	return filepath.Join(s.opts.Root, filepath.FromSlash(repo)+".git")
}

// unchunk spools a chunked request body to a temporary file, since CGI
// needs a content length and git sends large pushes and fetches chunked.
func unchunk(r *http.Request) (cleanup func(), err error) {
	if len(r.TransferEncoding) == 0 || r.TransferEncoding[0] != "chunked" {
		return func() {}, nil
	}
	f, err := os.CreateTemp("", "gitserver-body-")
	if err != nil {
		return nil, err
	}
	cleanup = func() {
		f.Close()
		os.Remove(f.Name())
	}
	n, err := io.Copy(f, r.Body)
	if err == nil {
		_, err = f.Seek(0, io.SeekStart)
	}
	if err != nil {
		cleanup()
		return nil, err
	}
	r.Body, r.ContentLength, r.TransferEncoding = f, n, nil
	return cleanup, nil
}
