package artifact

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

type entry struct {
	name, body string
	typ        byte
	link       string
}

func tarball(t *testing.T, entries ...entry) []byte {
	t.Helper()
	var buf bytes.Buffer
	gz := gzip.NewWriter(&buf)
	tw := tar.NewWriter(gz)
	for _, e := range entries {
		h := &tar.Header{Name: e.name, Mode: 0o644, Size: int64(len(e.body)), Typeflag: e.typ, Linkname: e.link}
		if e.typ != tar.TypeReg {
			h.Size = 0
		}
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		if e.typ == tar.TypeReg {
			tw.Write([]byte(e.body))
		}
	}
	tw.Close()
	gz.Close()
	return buf.Bytes()
}

func digest(b []byte) string {
	s := sha256.Sum256(b)
	return "sha256:" + hex.EncodeToString(s[:])
}

func TestFetch(t *testing.T) {
	good := tarball(t, entry{name: "workflows/", typ: tar.TypeDir}, entry{name: "./workflows/a.yaml", body: "kind: Workflow", typ: tar.TypeReg})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.Write(good) }))
	defer srv.Close()
	files, err := Fetch(context.Background(), srv.Client(), srv.URL, digest(good))
	if err != nil || string(files["workflows/a.yaml"]) != "kind: Workflow" || len(files) != 1 {
		t.Fatalf("Fetch = %v, %v", files, err)
	}
	if _, err := Fetch(context.Background(), srv.Client(), srv.URL, digest([]byte("tampered"))); !errors.Is(err, ErrDigest) {
		t.Fatalf("a tampered digest: err = %v, want ErrDigest", err)
	}
}

func TestUntarRefusesEscapes(t *testing.T) {
	cases := []struct {
		name  string
		entry entry
		want  string
	}{
		{"symlink", entry{name: "link", typ: tar.TypeSymlink, link: "/etc/passwd"}, "links are refused"},
		{"hard link", entry{name: "link", typ: tar.TypeLink, link: "a"}, "links are refused"},
		{"dot dot", entry{name: "../../etc/cron.d/x", body: "x", typ: tar.TypeReg}, "leaves the artifact"},
		{"absolute", entry{name: "/etc/x", body: "x", typ: tar.TypeReg}, "leaves the artifact"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Untar(bytes.NewReader(tarball(t, tc.entry)))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want %q", err, tc.want)
			}
		})
	}
}
