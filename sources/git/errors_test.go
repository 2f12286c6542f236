package git

import (
	"context"
	"errors"
	"net"
	neturl "net/url"
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
				var err error
				if tc.timeout == 0 {
					err = run(testContext(t), tc.url, tc.auth)
				} else {
					err = returnsAtDeadline(t, tc.timeout, closed, func(ctx context.Context, url string) error { return run(ctx, url, tc.auth) }, tc.url)
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

// returnsAtDeadline runs op against url, a server that never answers, with
// a timeout, and returns its error, which must come from the context's
// deadline. The operation must return once the deadline passes: the bound
// for that is the deadline plus a slack taken from this machine, a hundred
// times what the same operation takes to fail against a closed port (and
// never under 5s), so a busy machine does not fail the test but a timeout
// that is ignored does, in seconds rather than at the binary's timeout.
func returnsAtDeadline(t *testing.T, timeout time.Duration, closed string, op func(context.Context, string) error, url string) error {
	t.Helper()
	slack := max(5*time.Second, 100*failureTime(t, op, onHost(t, url, closed)))
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	deadline, _ := ctx.Deadline()
	done := make(chan error, 1)
	go func() { done <- op(ctx, url) }()
	select {
	case err := <-done:
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("error %q does not come from the context's deadline", err)
		}
		return err
	case <-time.After(time.Until(deadline) + slack):
		t.Fatalf("still running %s after its %s deadline passed", slack, timeout)
		return nil
	}
}

// failureTime measures how long op takes to fail against a closed port on
// this machine now, the slowest of three tries.
func failureTime(t *testing.T, op func(context.Context, string) error, url string) time.Duration {
	t.Helper()
	var slowest time.Duration
	for range 3 {
		start := time.Now()
		if err := op(testContext(t), url); err == nil {
			t.Fatalf("%s: no error from a closed port", url)
		}
		slowest = max(slowest, time.Since(start))
	}
	return slowest
}

// onHost is rawURL pointing at host instead.
func onHost(t *testing.T, rawURL, host string) string {
	t.Helper()
	u, err := neturl.Parse(rawURL)
	if err != nil {
		t.Fatal(err)
	}
	u.Host = host
	return u.String()
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
