package ui

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"runtime"
	"time"
)

// Serve serves the UI on l until ctx ends. Live updates and logs are
// long requests, so there is no write timeout; reading a request is
// bounded, so a slow client cannot hold a connection open for nothing.
func (s *Server) Serve(ctx context.Context, l net.Listener) error {
	hs := &http.Server{Handler: s, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 30 * time.Second, IdleTimeout: 2 * time.Minute}
	go s.Sweep(ctx)
	go func() {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		if hs.Shutdown(sctx) != nil {
			hs.Close() // event streams do not end by themselves
		}
	}()
	if err := hs.Serve(l); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// LoginURL is Local mode's sign-in address, which lands on next.
func LoginURL(base, token, next string) string {
	q := url.Values{"token": {token}}
	if next != "" {
		q.Set("next", next)
	}
	return base + "/login?" + q.Encode()
}

// OpenBrowser opens url in the desktop's browser, when there is one: a
// server, a container or a test has none, and then only the printed URL
// is the way in. It says whether it tried.
func OpenBrowser(u string) bool {
	var name string
	var args []string
	switch runtime.GOOS {
	case "darwin":
		name = "open"
	case "windows":
		name, args = "rundll32", []string{"url.dll,FileProtocolHandler"}
	default:
		if os.Getenv("DISPLAY") == "" && os.Getenv("WAYLAND_DISPLAY") == "" {
			return false
		}
		name = "xdg-open"
	}
	path, err := exec.LookPath(name)
	if err != nil {
		return false
	}
	cmd := exec.Command(path, append(args, u)...)
	if cmd.Start() != nil {
		return false
	}
	go func() { _ = cmd.Wait() }()
	return true
}
