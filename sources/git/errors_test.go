package git

import (
	"context"
	"net"
	"strings"
	"testing"
	"time"

	"krt.dev/krt/api/v1alpha1"
	"krt.dev/krt/sources/gitserver"
	"krt.dev/krt/sources/gitserver/gittest"
)

// The controller shows these errors on a condition as they are, so each must
// name the URL and say what failed.
func TestRemoteErrorsNameURLAndCause(t *testing.T) {
	empty := gittest.Serve(t, gitserver.Options{}, "empty")
	closed := closedAddr(t)
	hanging := hangingAddr(t)
	sshAuth, err := AuthFromSecret(sshSecret(t, closed))
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name    string
		url     string
		auth    *Auth
		timeout time.Duration
		want    string
	}{
		{name: "closed port", url: "http://" + closed + "/demo.git", want: "cannot connect"},
		{name: "closed ssh port", url: "ssh://git@" + closed + "/demo.git", auth: sshAuth, want: "cannot connect"},
		{name: "unknown host", url: "http://no-such-host.invalid/demo.git", want: "cannot resolve the host"},
		{name: "no such repository", url: empty.HTTP.URL + "/nope.git", want: "repository not found"},
		{name: "empty repository", url: empty.URL, want: "the repository is empty"},
		{name: "server never answers", url: "http://" + hanging + "/demo.git", timeout: 300 * time.Millisecond, want: "timed out"},
		{name: "ssh server never answers", url: "ssh://git@" + hanging + "/demo.git", auth: sshAuth, timeout: 300 * time.Millisecond, want: "timed out"},
	}
	cache, err := NewCache(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	ops := map[string]func(ctx context.Context, url string, auth *Auth) error{
		"ls-remote": func(ctx context.Context, url string, auth *Auth) error {
			_, err := cache.Resolve(ctx, url, auth, v1alpha1.GitRef{})
			return err
		},
		"fetch": func(ctx context.Context, url string, auth *Auth) error {
			return cache.Fetch(ctx, url, auth, Resolved{Commit: strings.Repeat("a", 40), Ref: "refs/heads/main"})
		},
	}
	for _, tc := range cases {
		for op, run := range ops {
			t.Run(tc.name+"/"+op, func(t *testing.T) {
				timeout := tc.timeout
				if timeout == 0 {
					timeout = 20 * time.Second
				}
				ctx, cancel := context.WithTimeout(context.Background(), timeout)
				defer cancel()
				start := time.Now()
				err := run(ctx, tc.url, tc.auth)
				if took := time.Since(start); took > timeout+2*time.Second {
					t.Errorf("took %s with a %s timeout", took, timeout)
				}
				if err == nil {
					t.Fatal("no error")
				}
				prefix := op + " " + tc.url + ": " + tc.want
				if !strings.HasPrefix(err.Error(), prefix) {
					t.Errorf("error = %q, want it to start with %q", err, prefix)
				}
			})
		}
	}
}

// closedAddr is a local port nothing listens on.
func closedAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// hangingAddr accepts connections and never says a word.
func hangingAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	var conns []net.Conn
	t.Cleanup(func() {
		ln.Close()
		<-done
		for _, c := range conns {
			c.Close()
		}
	})
	go func() {
		defer close(done)
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			conns = append(conns, c)
		}
	}()
	return ln.Addr().String()
}
