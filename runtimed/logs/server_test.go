package logs

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestFollowStreamsUntilFinished(t *testing.T) {
	s := NewStore(Options{})
	l := s.Open("u1")
	l.Append(Line{Text: "one"})
	srv := httptest.NewServer(Handler(s, "tok"))
	defer srv.Close()

	resp := get(t, srv.URL+"/runs/u1/logs?follow=true", "tok")
	defer resp.Body.Close()
	buf := make([]byte, 64)
	n, err := resp.Body.Read(buf)
	if err != nil || string(buf[:n]) != "one\n" {
		t.Fatalf("first read = %q, %v; want the line written before following", buf[:n], err)
	}
	l.Append(Line{Text: "two"})
	s.Finish("u1")
	rest, err := io.ReadAll(resp.Body)
	if err != nil || string(rest) != "two\n" {
		t.Fatalf("rest = %q, %v; want the live line, then the end", rest, err)
	}
}

func TestLogServerAnswersOnlyItsToken(t *testing.T) {
	s := NewStore(Options{})
	s.Open("u").Append(Line{Text: "private"})
	cases := []struct {
		name       string
		configured string // the pod's token; empty turns the log API off
		path, sent string
		wantStatus int
	}{
		{name: "the right token", configured: "pod-secret", path: "/runs/u/logs", sent: "pod-secret", wantStatus: http.StatusOK},
		{name: "no token", configured: "pod-secret", path: "/runs/u/logs", wantStatus: http.StatusUnauthorized},
		{name: "a wrong token", configured: "pod-secret", path: "/runs/u/logs", sent: "pod-secreT", wantStatus: http.StatusUnauthorized},
		{name: "a prefix of the token", configured: "pod-secret", path: "/runs/u/logs", sent: "pod", wantStatus: http.StatusUnauthorized},
		{name: "log API off: even a guess of the empty token", path: "/runs/u/logs", sent: "", wantStatus: http.StatusForbidden},
		{name: "unknown Run, with the token", configured: "pod-secret", path: "/runs/nope/logs", sent: "pod-secret", wantStatus: http.StatusNotFound},
		{name: "health needs nothing", configured: "pod-secret", path: "/healthz", wantStatus: http.StatusOK},
		{name: "health with the log API off", path: "/healthz", wantStatus: http.StatusOK},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			srv := httptest.NewServer(Handler(s, tc.configured))
			defer srv.Close()
			resp := get(t, srv.URL+tc.path, tc.sent)
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tc.wantStatus {
				t.Fatalf("status = %d (%s), want %d", resp.StatusCode, body, tc.wantStatus)
			}
			if resp.StatusCode != http.StatusOK && strings.Contains(string(body), "private") {
				t.Fatalf("a refused request got the log: %q", body)
			}
		})
	}
}

func get(t *testing.T, url, token string) *http.Response {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	return resp
}
