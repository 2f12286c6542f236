package git

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/pem"
	"errors"
	"net"
	"strings"
	"sync"
	"testing"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"

	"krt.dev/krt/api/v1alpha1"
)

// sshServer completes the SSH handshake and public-key auth, then refuses
// every channel: enough to show which host keys krt trusts and that it
// presents the secret's identity, without a git server behind it.
type sshServer struct {
	addr   string
	mu     sync.Mutex
	authed []string
}

func startSSHServer(t *testing.T, client ssh.PublicKey, hostKeys ...ssh.Signer) *sshServer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	s := &sshServer{addr: ln.Addr().String()}
	cfg := &ssh.ServerConfig{PublicKeyCallback: func(c ssh.ConnMetadata, k ssh.PublicKey) (*ssh.Permissions, error) {
		if !bytes.Equal(k.Marshal(), client.Marshal()) {
			return nil, errors.New("unknown key")
		}
		s.mu.Lock()
		defer s.mu.Unlock()
		s.authed = append(s.authed, c.User())
		return nil, nil
	}}
	for _, k := range hostKeys {
		cfg.AddHostKey(k)
	}
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			go serveSSH(conn, cfg)
		}
	}()
	return s
}

func serveSSH(conn net.Conn, cfg *ssh.ServerConfig) {
	defer conn.Close()
	_, chans, reqs, err := ssh.NewServerConn(conn, cfg)
	if err != nil {
		return
	}
	go ssh.DiscardRequests(reqs)
	for ch := range chans {
		_ = ch.Reject(ssh.Prohibited, "no git here")
	}
}

func (s *sshServer) users() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.authed...)
}

func TestSSHChecksHostKeys(t *testing.T) {
	identity, clientKey := newSSHIdentity(t)
	ed, ec := newHostKey(t), newECDSAHostKey(t)
	cases := []struct {
		name       string
		knownHosts func(addr string) string
		wantAuthed bool
	}{
		{
			name:       "known host",
			knownHosts: func(addr string) string { return hostLine(t, addr, ed.PublicKey()) },
			wantAuthed: true,
		},
		{
			name:       "known host by its second key type",
			knownHosts: func(addr string) string { return hostLine(t, addr, ec.PublicKey()) },
			wantAuthed: true,
		},
		{
			name:       "another key for the host",
			knownHosts: func(addr string) string { return hostLine(t, addr, newHostKey(t).PublicKey()) },
		},
		{
			name:       "host not listed",
			knownHosts: func(string) string { return hostLine(t, "example.com:22", ed.PublicKey()) },
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			srv := startSSHServer(t, clientKey, ed, ec)
			auth, err := AuthFromSecret(map[string][]byte{"identity": identity, "known_hosts": []byte(tc.knownHosts(srv.addr))})
			if err != nil {
				t.Fatal(err)
			}
			cache, err := NewCache(t.TempDir())
			if err != nil {
				t.Fatal(err)
			}
			_, err = cache.Resolve(testContext(t), "ssh://git@"+srv.addr+"/demo.git", auth, v1alpha1.GitRef{})
			if err == nil {
				t.Fatal("Resolve succeeded against a server with no git")
			}
			hostKeyErr := strings.Contains(err.Error(), "host key verification failed")
			if tc.wantAuthed == hostKeyErr {
				t.Errorf("error = %v; want a host key error: %v", err, !tc.wantAuthed)
			}
			if got := srv.users(); tc.wantAuthed != (len(got) == 1 && got[0] == "git") {
				t.Errorf("server authenticated %v; want the identity as git: %v", got, tc.wantAuthed)
			}
		})
	}
}

func newSSHIdentity(t *testing.T) ([]byte, ssh.PublicKey) {
	t.Helper()
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	block, err := ssh.MarshalPrivateKey(priv, "krt test")
	if err != nil {
		t.Fatal(err)
	}
	sshPub, err := ssh.NewPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(block), sshPub
}

func newHostKey(t *testing.T) ssh.Signer {
	t.Helper()
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	s, err := ssh.NewSignerFromKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func newECDSAHostKey(t *testing.T) ssh.Signer {
	t.Helper()
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	s, err := ssh.NewSignerFromKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func hostLine(t *testing.T, addr string, key ssh.PublicKey) string {
	t.Helper()
	return knownhosts.Line([]string{knownhosts.Normalize(addr)}, key) + "\n"
}

func sshSecret(t *testing.T, addr string) map[string][]byte {
	t.Helper()
	identity, _ := newSSHIdentity(t)
	return map[string][]byte{"identity": identity, "known_hosts": []byte(hostLine(t, addr, newHostKey(t).PublicKey()))}
}
