package logs

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func TestFollowStreamsUntilFinished(t *testing.T) {
	s := NewStore(Options{})
	l := s.Open("u1")
	l.Append(Line{Text: "one"})
	srv := httptest.NewServer(Handler(s))
	defer srv.Close()

	resp, err := http.Get(srv.URL + "/runs/u1/logs?follow=true")
	if err != nil {
		t.Fatal(err)
	}
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

func TestUnknownRunIs404(t *testing.T) {
	srv := httptest.NewServer(Handler(NewStore(Options{})))
	defer srv.Close()
	resp, err := http.Get(srv.URL + "/runs/nope/logs")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Fatalf("status = %d, want 404", resp.StatusCode)
	}
}

func TestLogKeepsNewestLines(t *testing.T) {
	s := NewStore(Options{MaxBytesPerRun: 10})
	l := s.Open("u")
	for _, text := range []string{"aaaa", "bbbb", "cccc"} {
		l.Append(Line{Text: text})
	}
	s.Finish("u")
	var got []string
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	_ = l.Follow(ctx, true, func(line Line) error { got = append(got, line.Text); return nil })
	if strings.Join(got, ",") != "bbbb,cccc" {
		t.Fatalf("kept %v, want the newest lines within the limit", got)
	}
}

func TestStoreEvictsOldestFinished(t *testing.T) {
	s := NewStore(Options{MaxFinished: 1})
	s.Open("a")
	s.Finish("a")
	s.Open("b")
	s.Finish("b")
	if s.Get("a") != nil || s.Get("b") == nil {
		t.Fatal("want only the newest finished log kept")
	}
}

func TestSplitter(t *testing.T) {
	var sp Splitter
	got := sp.Write([]byte("a\nb"))
	got = append(got, sp.Write([]byte("c\r\nd"))...)
	got = append(got, sp.Flush()...)
	if strings.Join(got, "|") != "a|bc|d" {
		t.Fatalf("lines = %q", got)
	}
}

func TestSplitterMasksASecretAcrossTheCut(t *testing.T) {
	secret := "hunter2-correct-horse"
	sp := Splitter{Mask: func(s string) string { return strings.ReplaceAll(s, secret, "***") }, Hold: len(secret) - 1}
	// The secret straddles the point where an overlong line is cut.
	line := strings.Repeat("x", maxLine-5) + secret + strings.Repeat("y", 10)
	var got []string
	for i := 0; i < len(line); i += 4096 {
		got = append(got, sp.Write([]byte(line[i:min(i+4096, len(line))]))...)
	}
	got = append(got, sp.Write([]byte("\n"))...)
	for i := range got {
		got[i] = sp.Mask(got[i]) // as the collector masks each line
	}
	joined := strings.Join(got, "")
	if strings.Contains(joined, "hunter2") || strings.Contains(joined, "horse") {
		t.Fatalf("part of the secret leaked across the cut")
	}
	if !strings.Contains(joined, "***") || len(got) < 2 {
		t.Fatalf("want the overlong line cut and the secret masked, got %d parts", len(got))
	}
}
