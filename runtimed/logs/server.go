package logs

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"

	"k8s.io/apimachinery/pkg/types"
)

// Handler serves the Store:
//
//	GET /runs/{uid}/logs[?follow=true][&format=json]
//
// Plain text by default, one line per line; JSON lines with format=json.
func Handler(s *Store) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		_, _ = w.Write([]byte("ok\n"))
	})
	mux.HandleFunc("GET /runs/{uid}/logs", func(w http.ResponseWriter, r *http.Request) {
		serveLog(s, w, r)
	})
	return mux
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
