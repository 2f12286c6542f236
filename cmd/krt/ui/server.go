// Package ui is krt's web UI: a small HTTP server that renders krt's
// objects as HTML, follows them live with server-sent events, and acts on
// runs (approve, reject, cancel, rerun) through cmd/krt/runops, as the CLI
// does. It holds no credentials of its own: every API call is made with
// the signed-in user's, so RBAC applies as it does for kubectl.
package ui

import (
	"context"
	"embed"
	"html/template"
	"io/fs"
	"net/http"
	"sync"
	"time"

	"k8s.io/client-go/rest"

	"krt.dev/krt/controllers/cluster"
)

//go:embed assets
var assets embed.FS

// Mode says how people sign in.
type Mode int

const (
	// Local is `krt ui`: the server acts as the one user whose kubeconfig
	// started it, for whoever opens the URL it printed, which carries a
	// one-time sign-in token.
	Local Mode = iota
	// Token is the in-cluster UI: each user signs in with a Kubernetes
	// bearer token, which the server keeps in a session and never sends
	// back to the browser.
	Token
)

// Options configure a Server.
type Options struct {
	Mode Mode
	// Config is the API server to talk to. In Local mode it holds the
	// user's credentials; in Token mode only the host and CA, and each
	// session adds its user's token.
	Config *rest.Config
	// Namespace is the one shown first.
	Namespace string
	// LoginToken is the secret of Local mode's sign-in URL.
	LoginToken string
	// InsecureCookies drops the cookie's Secure flag, for a plain-HTTP
	// server that is not on a loopback address. Browsers keep Secure
	// cookies of http://127.0.0.1, so `krt ui` does not need it.
	InsecureCookies bool
	// SessionTTL bounds a session's life; 8 hours when zero.
	SessionTTL time.Duration
	// Kubeconfig checks for remote Clusters' kubeconfigs, read when a
	// node's log is in another cluster (as `krt wf logs` does).
	Kubeconfig cluster.KubeconfigOptions
	// Coalesce is how long live updates gather changes before sending
	// them; 100ms when zero. A fan-out of hundreds of nodes changes
	// its run many times a second; the browser needs the latest state,
	// not every step on the way.
	Coalesce time.Duration
}

// Server serves the UI.
type Server struct {
	opts  Options
	pages map[string]*template.Template
	mu    sync.Mutex
	sess  map[string]*session
	mux   *http.ServeMux
}

// New builds a Server.
func New(opts Options) (*Server, error) {
	if opts.SessionTTL == 0 {
		opts.SessionTTL = 8 * time.Hour
	}
	if opts.Coalesce == 0 {
		opts.Coalesce = 100 * time.Millisecond
	}
	if opts.Namespace == "" {
		opts.Namespace = "default"
	}
	pages, err := parseTemplates()
	if err != nil {
		return nil, err
	}
	s := &Server{opts: opts, pages: pages, sess: map[string]*session{}, mux: http.NewServeMux()}
	s.routes()
	return s, nil
}

func (s *Server) routes() {
	static, _ := fs.Sub(assets, "assets/static")
	s.mux.Handle("GET /static/", http.StripPrefix("/static/", http.FileServerFS(static)))
	s.mux.HandleFunc("GET /login", s.loginPage)
	s.mux.HandleFunc("POST /login", s.login)
	s.mux.HandleFunc("POST /logout", s.authed(s.logout))
	s.mux.HandleFunc("GET /{$}", s.authed(s.home))
	s.mux.HandleFunc("GET /go", s.authed(s.goNamespace))
	s.mux.HandleFunc("GET /ns/{ns}/workflows", s.authed(s.workflows))
	s.mux.HandleFunc("GET /ns/{ns}/runs", s.authed(s.runs))
	s.mux.HandleFunc("GET /ns/{ns}/runs-events", s.authed(s.runsEvents))
	s.mux.HandleFunc("GET /ns/{ns}/repositories", s.authed(s.repositories))
	s.mux.HandleFunc("GET /ns/{ns}/runtimes", s.authed(s.runtimes))
	s.mux.HandleFunc("GET /ns/{ns}/runs/{name}", s.authed(s.run))
	s.mux.HandleFunc("GET /ns/{ns}/runs/{name}/dag", s.authed(s.runDAG))
	s.mux.HandleFunc("GET /ns/{ns}/runs/{name}/events", s.authed(s.runEvents))
	s.mux.HandleFunc("GET /ns/{ns}/runs/{name}/nodes/{node}", s.authed(s.node))
	s.mux.HandleFunc("GET /ns/{ns}/runs/{name}/nodes/{node}/logs", s.authed(s.nodeLogs))
	s.mux.HandleFunc("POST /ns/{ns}/runs/{name}/decide", s.authed(s.csrf(s.decide)))
	s.mux.HandleFunc("POST /ns/{ns}/runs/{name}/cancel", s.authed(s.csrf(s.cancel)))
	s.mux.HandleFunc("POST /ns/{ns}/runs/{name}/rerun", s.authed(s.csrf(s.rerun)))
}

// ServeHTTP serves the UI, with headers that keep its pages from being
// framed, sniffed, or made to load anything from elsewhere.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	// style-src-attr: the DAG's positions are computed here and set as
	// style attributes; a style attribute cannot run script.
	h.Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; style-src 'self'; style-src-attr 'unsafe-inline'; script-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'")
	h.Set("X-Content-Type-Options", "nosniff")
	// same-origin, not no-referrer: with no-referrer a browser sends
	// "Origin: null" with a form, and the CSRF check could not tell it
	// from another site's.
	h.Set("Referrer-Policy", "same-origin")
	h.Set("Cache-Control", "no-store")
	s.mux.ServeHTTP(w, r)
}

// Sweep drops expired sessions until ctx ends.
func (s *Server) Sweep(ctx context.Context) {
	t := time.NewTicker(time.Minute)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			s.mu.Lock()
			for id, se := range s.sess {
				if now.After(se.expires) {
					delete(s.sess, id)
				}
			}
			s.mu.Unlock()
		}
	}
}
