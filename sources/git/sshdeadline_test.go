package git

import (
	"context"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"krt.dev/krt/api/v1alpha1"
)

// silentServer accepts TCP connections and never speaks. Each connection
// it accepted reports on closed when the client hangs up.
func silentServer(t *testing.T) (addr string, closed <-chan struct{}) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ch := make(chan struct{}, 16)
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				_, _ = io.Copy(io.Discard, c) // until the client closes
				ch <- struct{}{}
			}()
		}
	}()
	return ln.Addr().String(), ch
}

// An SSH server that accepts and never speaks ends the operation at its
// deadline, and the connection with it: the URL's turn is free again for
// the next fetch, instead of held by a handshake that never ends.
func TestSilentSSHServerTimesOutAndLetsGo(t *testing.T) {
	addr, closed := silentServer(t)
	auth, err := AuthFromSecret(sshSecret(t, addr))
	if err != nil {
		t.Fatal(err)
	}
	cache, err := NewCache(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	url := "ssh://git@" + addr + "/demo.git"
	want := Resolved{Commit: strings.Repeat("a", 40), Ref: "refs/heads/main"}
	resolve := func(ctx context.Context) error {
		_, err := cache.Resolve(ctx, url, auth, v1alpha1.GitRef{})
		return err
	}
	fetch := func(ctx context.Context) error { return cache.Fetch(ctx, url, auth, want) }
	for _, op := range []struct {
		name, prefix string
		run          func(ctx context.Context) error
	}{
		{"ls-remote", "ls-remote", resolve},
		{"fetch", "fetch", fetch},
		// Not "waiting for another fetch": the first one let go.
		{"a second fetch", "fetch", fetch},
	} {
		ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
		err := op.run(ctx)
		cancel()
		if want := op.prefix + " " + url + ": timed out"; err == nil || !strings.HasPrefix(err.Error(), want) {
			t.Fatalf("%s: error = %v, want it to start with %q", op.name, err, want)
		}
		select {
		case <-closed:
		case <-time.After(20 * time.Second):
			t.Fatalf("%s: the connection to the silent server was still open 20s after the operation's deadline", op.name)
		}
	}
}

// Only SSH URLs get the deadline dialer: HTTP honours the context itself,
// and a proxy URL on it would change where HTTP connects.
func TestSSHDeadlineOnlyForSSH(t *testing.T) {
	for url, want := range map[string]bool{
		"https://example.com/r.git":     false,
		"http://127.0.0.1:1/r.git":      false,
		"ssh://git@example.com/r.git":   true,
		"git@example.com:org/r.git":     true,
		"file:///var/lib/git/repo.git/": false,
	} {
		if got := strings.HasPrefix(sshDeadline(context.Background(), url).URL, deadlineScheme+"://"); got != want {
			t.Errorf("%s: deadline dialer %v, want %v", url, got, want)
		}
	}
}
