package git

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"strconv"
	"time"

	"github.com/go-git/go-git/v5/plumbing/transport"
	"golang.org/x/net/proxy"
)

// go-git's SSH transport bounds only the TCP dial (ClientConfig.Timeout):
// the SSH handshake and everything after run on a connection without a
// deadline, so a server that accepts and never speaks holds the operation,
// and the cache entry's turn, for ever. The one hook go-git offers on that
// connection is the dialer it takes from ProxyOptions, by URL scheme
// (x/net/proxy's RegisterDialerType). krt registers a dialer that connects
// directly, with no proxy, and gives the connection the operation's
// deadline, carried in the URL: when ctx ends, so does the connection, and
// with it the work go-git does in the background.

const deadlineScheme = "krt-ssh-deadline"

// DefaultSSHTimeout bounds an SSH operation whose context has no deadline.
const DefaultSSHTimeout = 10 * time.Minute

func init() {
	proxy.RegisterDialerType(deadlineScheme, func(u *url.URL, _ proxy.Dialer) (proxy.Dialer, error) {
		n, err := strconv.ParseInt(u.Query().Get("unix-nano"), 10, 64)
		if err != nil {
			return nil, fmt.Errorf("ssh deadline: %w", err)
		}
		return deadlineDialer{deadline: time.Unix(0, n)}, nil
	})
}

// sshDeadline is the ProxyOptions that bound an SSH operation by ctx; for
// any other protocol, none.
func sshDeadline(ctx context.Context, rawURL string) transport.ProxyOptions {
	ep, err := transport.NewEndpoint(rawURL)
	if err != nil || ep.Protocol != "ssh" {
		return transport.ProxyOptions{}
	}
	deadline, ok := ctx.Deadline()
	if !ok {
		deadline = time.Now().Add(DefaultSSHTimeout)
	}
	return transport.ProxyOptions{URL: deadlineScheme + "://direct/?unix-nano=" + strconv.FormatInt(deadline.UnixNano(), 10)}
}

// atDeadline says that an SSH connection's timeout at ctx's deadline is
// that deadline: the connection may notice it a moment before ctx does.
func atDeadline(ctx context.Context, err error) error {
	if d, ok := ctx.Deadline(); ok && errors.Is(err, os.ErrDeadlineExceeded) && !time.Now().Before(d) {
		return fmt.Errorf("%w: %w", context.DeadlineExceeded, err)
	}
	return err
}

type deadlineDialer struct{ deadline time.Time }

func (d deadlineDialer) Dial(network, addr string) (net.Conn, error) {
	return d.DialContext(context.Background(), network, addr)
}

func (d deadlineDialer) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	ctx, cancel := context.WithDeadline(ctx, d.deadline)
	defer cancel()
	var nd net.Dialer
	conn, err := nd.DialContext(ctx, network, addr)
	if err != nil {
		return nil, err
	}
	if err := conn.SetDeadline(d.deadline); err != nil {
		_ = conn.Close()
		return nil, err
	}
	return conn, nil
}
