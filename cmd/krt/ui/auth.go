package ui

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"net/http"
	"net/url"
	"strings"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"krt.dev/krt/api/scheme"
	"krt.dev/krt/cmd/krt/runops"
)

const cookieName = "krt_session"

// session is one signed-in user. The credentials stay here, server-side:
// the browser holds only the session's random id, in an HttpOnly cookie.
type session struct {
	id, csrf string
	cfg      *rest.Config
	c        client.WithWatch
	user     authenticationv1.UserInfo
	expires  time.Time
}

// randomID is 256 bits from the system's CSPRNG.
func randomID() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// NewLoginToken makes the secret of Local mode's sign-in URL.
func NewLoginToken() string { return randomID() }

type ctxKey struct{}

func sessionOf(r *http.Request) *session { return r.Context().Value(ctxKey{}).(*session) }

// authed lets a request through only with a live session; anything else
// is 401, with a page that says how to sign in.
func (s *Server) authed(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		se := s.lookup(r)
		if se == nil {
			w.Header().Set("WWW-Authenticate", `Bearer realm="krt"`)
			w.WriteHeader(http.StatusUnauthorized)
			s.render(w, r, "login", loginData{Local: s.opts.Mode == Local, Next: r.URL.RequestURI()})
			return
		}
		h(w, r.WithContext(context.WithValue(r.Context(), ctxKey{}, se)))
	}
}

func (s *Server) lookup(r *http.Request) *session {
	ck, err := r.Cookie(cookieName)
	if err != nil {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	se := s.sess[ck.Value]
	if se == nil || time.Now().After(se.expires) {
		return nil
	}
	return se
}

// csrf refuses an action whose form does not carry the session's CSRF
// token, or that comes from another origin. The SameSite=Strict cookie
// already keeps other sites' forms out; the token is the second lock.
func (s *Server) csrf(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		se := sessionOf(r)
		token := r.PostFormValue("csrf")
		if subtle.ConstantTimeCompare([]byte(token), []byte(se.csrf)) != 1 || !sameOrigin(r) {
			http.Error(w, "refused: this action needs the page's CSRF token; reload the page and try again", http.StatusForbidden)
			return
		}
		h(w, r)
	}
}

// sameOrigin: a browser sends Origin with every POST; when it names
// another host than the one asked, the request came from elsewhere.
func sameOrigin(r *http.Request) bool {
	o := r.Header.Get("Origin")
	if o == "" {
		return true
	}
	u, err := url.Parse(o)
	return err == nil && u.Host == r.Host
}

type loginData struct {
	Local bool
	Next  string
	Error string
}

// loginPage signs in with Local mode's URL token, or shows the form for
// a bearer token.
func (s *Server) loginPage(w http.ResponseWriter, r *http.Request) {
	next := safeNext(r.FormValue("next"))
	if s.opts.Mode != Local {
		s.render(w, r, "login", loginData{Next: next})
		return
	}
	tok := r.FormValue("token")
	if tok == "" || subtle.ConstantTimeCompare([]byte(tok), []byte(s.opts.LoginToken)) != 1 {
		w.WriteHeader(http.StatusUnauthorized)
		s.render(w, r, "login", loginData{Local: true, Next: next})
		return
	}
	s.start(w, r, rest.CopyConfig(s.opts.Config), next)
}

// login takes a bearer token from the form (Token mode).
func (s *Server) login(w http.ResponseWriter, r *http.Request) {
	next := safeNext(r.PostFormValue("next"))
	tok := strings.TrimSpace(r.PostFormValue("token"))
	if s.opts.Mode != Token || tok == "" {
		w.WriteHeader(http.StatusUnauthorized)
		s.render(w, r, "login", loginData{Local: s.opts.Mode == Local, Next: next, Error: "a token is needed"})
		return
	}
	cfg := rest.AnonymousClientConfig(s.opts.Config)
	cfg.BearerToken = tok
	s.start(w, r, cfg, next)
}

// start checks the credentials with the API server (who they are is its
// answer, never the browser's), then opens a session.
func (s *Server) start(w http.ResponseWriter, r *http.Request, cfg *rest.Config, next string) {
	cfg.UserAgent = "krt-ui"
	me, err := runops.Whoami(r.Context(), cfg)
	if err != nil {
		w.WriteHeader(http.StatusUnauthorized)
		s.render(w, r, "login", loginData{Local: s.opts.Mode == Local, Next: next, Error: "the API server refused these credentials"})
		return
	}
	c, err := client.NewWithWatch(cfg, client.Options{Scheme: scheme.New()})
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	se := &session{id: randomID(), csrf: randomID(), cfg: cfg, c: c, user: me, expires: time.Now().Add(s.opts.SessionTTL)}
	s.mu.Lock()
	s.sess[se.id] = se
	s.mu.Unlock()
	http.SetCookie(w, &http.Cookie{Name: cookieName, Value: se.id, Path: "/", HttpOnly: true, Secure: !s.opts.InsecureCookies,
		SameSite: http.SameSiteStrictMode, Expires: se.expires})
	http.Redirect(w, r, next, http.StatusSeeOther)
}

func (s *Server) logout(w http.ResponseWriter, r *http.Request) {
	if subtle.ConstantTimeCompare([]byte(r.PostFormValue("csrf")), []byte(sessionOf(r).csrf)) != 1 {
		http.Error(w, "refused: no CSRF token", http.StatusForbidden)
		return
	}
	s.mu.Lock()
	delete(s.sess, sessionOf(r).id)
	s.mu.Unlock()
	http.SetCookie(w, &http.Cookie{Name: cookieName, Value: "", Path: "/", MaxAge: -1, HttpOnly: true, Secure: !s.opts.InsecureCookies,
		SameSite: http.SameSiteStrictMode})
	http.Redirect(w, r, "/login", http.StatusSeeOther)
}

// safeNext keeps a redirect after sign-in on this site.
func safeNext(next string) string {
	if !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") || strings.Contains(next, `\`) {
		return "/"
	}
	return next
}
