package artifact

import (
	"archive/tar"
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// Only the allowed hosts are ever contacted: another host, another scheme
// and a redirect elsewhere are refused before any connection.
func TestClientDownloadsOnlyFromAllowedHosts(t *testing.T) {
	good := tarball(t, entry{name: "workflows/a.yaml", body: "kind: Workflow", typ: tar.TypeReg})
	var requests atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		requests.Add(1)
		if r.URL.Path == "/redirect" {
			http.Redirect(w, r, strings.Replace(srvURL(r), "127.0.0.1", "localhost", 1)+"/a.tar.gz", http.StatusFound)
			return
		}
		_, _ = w.Write(good)
	}))
	defer srv.Close()
	port := srv.URL[strings.LastIndex(srv.URL, ":"):]
	cases := []struct {
		name  string
		hosts []string
		url   string
		want  error
		reqs  int64
	}{
		{"allowed host, any port", []string{"127.0.0.1"}, srv.URL + "/a.tar.gz", nil, 1},
		{"allowed host and port", []string{"127.0.0.1" + port}, srv.URL + "/a.tar.gz", nil, 1},
		{"fully qualified, with its dot", []string{"localhost."}, "http://localhost" + port + "/a.tar.gz", nil, 1},
		{"another port", []string{"127.0.0.1:1"}, srv.URL + "/a.tar.gz", ErrHost, 0},
		{"another name for the same address", []string{"127.0.0.1"}, "http://localhost" + port + "/a.tar.gz", ErrHost, 0},
		{"the default hosts", DefaultHosts, srv.URL + "/a.tar.gz", ErrHost, 0},
		{"a redirect elsewhere", []string{"127.0.0.1"}, srv.URL + "/redirect", ErrHost, 1},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			requests.Store(0)
			_, err := Fetch(context.Background(), NewClient(tc.hosts, time.Minute), tc.url, digest(good))
			if !errors.Is(err, tc.want) {
				t.Errorf("err = %v, want %v", err, tc.want)
			}
			if n := requests.Load(); n != tc.reqs {
				t.Errorf("the server got %d requests, want %d", n, tc.reqs)
			}
		})
	}
}

func srvURL(r *http.Request) string { return "http://" + r.Host }
