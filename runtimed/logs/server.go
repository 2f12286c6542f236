package logs

import (
	"crypto/subtle"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"k8s.io/apimachinery/pkg/types"
)

// Handler serves the Store:
//
//	GET /runs/{uid}/logs[?follow=true][&format=json]
//
// Plain text by default, one line per line; JSON lines with format=json.
//
// Reading a log takes the bearer token, this pod's own secret. Without a
// token the log API is off: in a cluster, `krt logs` reads runtimed's
// container log through the API server (pods/log), which RBAC authorises,
// and nothing else has a reason to call runtimed. /healthz, for the
// kubelet's probes, tells nothing and needs nothing.
func Handler(s *Store, token string) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		_, _ = w.Write([]byte("ok\n"))
	})
	mux.HandleFunc("GET /runs/{uid}/logs", func(w http.ResponseWriter, r *http.Request) {
		if !authorized(w, r, token) {
			return
		}
		serveLog(s, w, r)
	})
	return mux
}

// authorized answers 403 when the log API is off and 401 without the right
// token, and reports whether the request may go on.
func authorized(w http.ResponseWriter, r *http.Request, token string) bool {
	if token == "" {
		http.Error(w, "runtimed serves no logs here: read them with `krt logs`, through the API server", http.StatusForbidden)
		return false
	}
	got, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok || subtle.ConstantTimeCompare([]byte(got), []byte(token)) != 1 {
		w.Header().Set("WWW-Authenticate", `Bearer realm="runtimed"`)
		http.Error(w, "a bearer token for this pod's log server is required", http.StatusUnauthorized)
		return false
	}
	return true
}

func serveLog(s *Store, w http.ResponseWriter, r *http.Request) {
	l := s.Get(types.UID(r.PathValue("uid")))
	if l == nil {
		http.Error(w, "no logs for this Run on this pod", http.StatusNotFound)
		return
	}
	follow, _ := strconv.ParseBool(r.URL.Query().Get("follow"))
	asJSON := r.URL.Query().Get("format") == "json"
	if asJSON {
		w.Header().Set("Content-Type", "application/x-ndjson")
	} else {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	}
	w.Header().Set("X-Content-Type-Options", "nosniff")
	flusher, _ := w.(http.Flusher)
	enc := json.NewEncoder(w)
	_ = l.Follow(r.Context(), follow, func(line Line) error {
		var err error
		if asJSON {
			err = enc.Encode(line)
		} else {
			_, err = fmt.Fprintln(w, line.Text)
		}
		if flusher != nil && follow {
			flusher.Flush()
		}
		return err
	})
}
