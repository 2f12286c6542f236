package gitserver

import (
	"bufio"
	"bytes"
	"io"
	"net/http"
	"path"
	"regexp"
	"strings"
	"sync"
)

// Counts are the requests one repository received. The probe git sends
// before a large chunked request (a lone flush packet) is not counted.
type Counts struct {
	// Listings are GETs of info/refs for git-upload-pack: every ls-remote,
	// fetch and clone starts with one.
	Listings int
	// Fetches are POSTs to git-upload-pack that ask for objects. A protocol
	// v2 ls-refs POST is a listing, not a fetch, and is not counted.
	Fetches int
	// Pushes are POSTs to git-receive-pack.
	Pushes int
	// FetchedBytes are the bytes of the fetches' responses the server
	// wrote: what a client that hangs up early did not take is not in it.
	FetchedBytes int64
}

// Counts returns a copy of the counts, by repository name.
func (s *Server) Counts() map[string]Counts {
	return s.counts.snapshot()
}

type requestKind int

const (
	kindOther requestKind = iota
	kindListing
	kindFetch
	kindPush
)

const (
	uploadPack  = "git-upload-pack"
	receivePack = "git-receive-pack"
)

type counter struct {
	mu sync.Mutex
	m  map[string]Counts
}

func (c *counter) add(repo string, k requestKind) {
	if k == kindOther {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil {
		c.m = map[string]Counts{}
	}
	n := c.m[repo]
	switch k {
	case kindListing:
		n.Listings++
	case kindFetch:
		n.Fetches++
	case kindPush:
		n.Pushes++
	}
	c.m[repo] = n
}

func (c *counter) addBytes(repo string, n int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil {
		c.m = map[string]Counts{}
	}
	v := c.m[repo]
	v.FetchedBytes += int64(n)
	c.m[repo] = v
}

// countingWriter counts the response bytes of a fetch as they are written.
type countingWriter struct {
	http.ResponseWriter
	add func(int)
}

func (w countingWriter) Write(p []byte) (int, error) {
	n, err := w.ResponseWriter.Write(p)
	w.add(n)
	return n, err
}

func (w countingWriter) Flush() {
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

func (c *counter) snapshot() map[string]Counts {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make(map[string]Counts, len(c.m))
	for k, v := range c.m {
		out[k] = v
	}
	return out
}

// request is what the server needs to know about one smart-HTTP request.
type request struct {
	repo    string // without ".git"
	rest    string // the path after "<repo>.git/"
	service string // git-upload-pack or git-receive-pack, when known
}

var repoName = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9._-]*(/[A-Za-z0-9_][A-Za-z0-9._-]*)*$`)

// parseRequest splits "/<repo>.git/<rest>", refusing names that could leave
// the root and paths that are not already clean, since http-backend sees the
// raw path.
func parseRequest(r *http.Request) (request, bool) {
	p := r.URL.Path
	if path.Clean(p) != p {
		return request{}, false
	}
	i := strings.Index(p, ".git/")
	if i < 1 {
		return request{}, false
	}
	req := request{repo: p[1:i], rest: p[i+len(".git/"):]}
	if !repoName.MatchString(req.repo) {
		return request{}, false
	}
	switch req.rest {
	case "info/refs":
		req.service = r.URL.Query().Get("service")
	case uploadPack, receivePack:
		req.service = req.rest
	}
	return req, true
}

func (s *Server) kind(req request, r *http.Request) requestKind {
	const flushPacket = 4 // "0000"
	switch {
	case r.Method == http.MethodPost && r.ContentLength == flushPacket:
		return kindOther
	case req.rest == "info/refs" && req.service == uploadPack:
		return kindListing
	case req.rest == receivePack && r.Method == http.MethodPost:
		return kindPush
	case req.rest == uploadPack && r.Method == http.MethodPost:
		if isLsRefs(r) {
			return kindOther
		}
		return kindFetch
	}
	return kindOther
}

// isLsRefs peeks at a protocol v2 request body: ls-refs names its command in
// the first packet line. The body is put back whole for http-backend.
func isLsRefs(r *http.Request) bool {
	if !strings.Contains(r.Header.Get("Git-Protocol"), "version=2") || r.Header.Get("Content-Encoding") != "" {
		return false
	}
	br := bufio.NewReader(r.Body)
	head, _ := br.Peek(64)
	r.Body = struct {
		io.Reader
		io.Closer
	}{br, r.Body}
	return bytes.Contains(head, []byte("command=ls-refs"))
}
