package git

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"time"

	"github.com/go-git/go-git/v5/plumbing/transport"
	gitssh "github.com/go-git/go-git/v5/plumbing/transport/ssh"
	"golang.org/x/crypto/ssh"
)

// errNoKnownHosts is what a user sees when a secret has an SSH key and no
// way to check the server's.
var errNoKnownHosts = errors.New(`the secret has an SSH "identity" but no "known_hosts": ` +
	`add the server's host keys (for example from ssh-keyscan) under "known_hosts"; ` +
	`krt never accepts an unknown host key`)

// sshKey is a parsed identity and the host keys to trust.
type sshKey struct {
	signer     ssh.Signer
	hostKeys   ssh.HostKeyCallback
	algorithms func(hostWithPort string) []string
}

func newSSHKey(identity, knownHosts []byte, passphrase string) (*sshKey, error) {
	if len(knownHosts) == 0 {
		return nil, errNoKnownHosts
	}
	pk, err := gitssh.NewPublicKeys("git", identity, passphrase)
	if err != nil {
		return nil, fmt.Errorf(`the secret's SSH "identity" cannot be used: %w`, err)
	}
	db, err := knownHostsDB(knownHosts)
	if err != nil {
		return nil, err
	}
	return &sshKey{signer: pk.Signer, hostKeys: db.HostKeyCallback(), algorithms: db.HostKeyAlgorithms}, nil
}

// hostKeyDB is the part of go-git's known_hosts database krt uses.
type hostKeyDB interface {
	HostKeyCallback() ssh.HostKeyCallback
	HostKeyAlgorithms(hostWithPort string) []string
}

// knownHostsDB parses known_hosts data with the same library go-git uses,
// which reads only files; the file lives just long enough to be read.
func knownHostsDB(data []byte) (hostKeyDB, error) {
	f, err := os.CreateTemp("", "krt-known-hosts-")
	if err != nil {
		return nil, fmt.Errorf("reading known_hosts: %w", err)
	}
	defer os.Remove(f.Name())
	_, err = f.Write(data)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return nil, fmt.Errorf("reading known_hosts: %w", err)
	}
	db, err := gitssh.NewKnownHostsDb(f.Name())
	if err != nil {
		return nil, fmt.Errorf(`the secret's "known_hosts" cannot be parsed: %w`, err)
	}
	return db, nil
}

// method builds the auth for one connection. The user comes from the URL
// (git@host:path), then the secret's username, then "git".
func (k *sshKey) method(ctx context.Context, ep *transport.Endpoint, username string) *sshAuth {
	user := ep.User
	if user == "" {
		user = username
	}
	if user == "" {
		user = "git"
	}
	port := ep.Port
	if port == 0 {
		port = gitssh.DefaultPort
	}
	a := &sshAuth{PublicKeys: gitssh.PublicKeys{User: user, Signer: k.signer}}
	a.HostKeyCallback = k.hostKeys
	// go-git only picks algorithms from known_hosts for its own default
	// callback; without them the server may offer a key type we hold no
	// entry for, and the check fails although the host is known.
	a.HostKeyAlgorithms = k.algorithms(net.JoinHostPort(ep.Host, strconv.Itoa(port)))
	if deadline, ok := ctx.Deadline(); ok {
		a.timeout = max(time.Until(deadline), time.Millisecond)
	}
	return a
}

// sshAuth bounds the dial by the operation's deadline, which go-git's SSH
// transport takes only from the client config, not from the context.
type sshAuth struct {
	gitssh.PublicKeys
	timeout time.Duration
}

func (a *sshAuth) ClientConfig() (*ssh.ClientConfig, error) {
	cfg, err := a.PublicKeys.ClientConfig()
	if err != nil {
		return nil, err
	}
	cfg.Timeout = a.timeout
	return cfg, nil
}
