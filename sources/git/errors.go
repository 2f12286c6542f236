package git

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"

	"github.com/go-git/go-git/v5/plumbing/transport"
	"golang.org/x/crypto/ssh/knownhosts"
)

// Errors a caller may want to tell apart.
var (
	// ErrPathNotFound means the folder asked for is not in the commit.
	ErrPathNotFound = errors.New("path not found")
	// ErrTooLarge means the folder, or a fetch, exceeds the cache's Limits.
	ErrTooLarge = errors.New("too large")
)

// remoteError names the operation, the URL (without a password) and, in
// words a user can act on, what failed. The controller puts it on a
// condition as it is.
func remoteError(op, rawURL string, auth *Auth, err error) error {
	return fmt.Errorf("%s %s: %s: %w", op, redact(rawURL), reason(auth, err), err)
}

func reason(auth *Auth, err error) string {
	var keyErr *knownhosts.KeyError
	var netErr *net.OpError
	var dnsErr *net.DNSError
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		return "timed out"
	case errors.Is(err, context.Canceled):
		return "cancelled"
	case errors.Is(err, transport.ErrAuthenticationRequired) && auth.anonymous():
		return "authentication required: the repository needs a secretRef"
	case errors.Is(err, transport.ErrAuthenticationRequired),
		strings.Contains(err.Error(), "ssh: unable to authenticate"):
		return "authentication failed: the server rejected the secret's credentials"
	case errors.Is(err, transport.ErrAuthorizationFailed):
		return "access denied"
	case errors.Is(err, transport.ErrRepositoryNotFound):
		return "repository not found"
	case errors.Is(err, transport.ErrEmptyRemoteRepository):
		return "the repository is empty"
	case errors.As(err, &keyErr), strings.Contains(err.Error(), "knownhosts:"):
		return "host key verification failed: the server's key does not match known_hosts"
	case errors.As(err, &dnsErr):
		return "cannot resolve the host"
	case errors.As(err, &netErr):
		return "cannot connect"
	}
	return "failed"
}

// redact hides a password written into a URL.
func redact(rawURL string) string {
	u, err := url.Parse(rawURL)
	if err != nil || u.User == nil {
		return rawURL
	}
	return u.Redacted()
}

// withContext runs fn and returns when it ends or when ctx does, whichever
// comes first. go-git does not bound every step by the context (an SSH
// handshake, for one), and a caller's timeout must hold regardless; fn keeps
// running in the background until it ends by itself.
func withContext[T any](ctx context.Context, fn func() (T, error)) (T, error) {
	type result struct {
		v   T
		err error
	}
	done := make(chan result, 1)
	go func() {
		v, err := fn()
		done <- result{v, err}
	}()
	select {
	case r := <-done:
		return r.v, r.err
	case <-ctx.Done():
		var zero T
		return zero, ctx.Err()
	}
}
