package git

import (
	"context"
	"errors"
	"fmt"

	"github.com/go-git/go-git/v5/plumbing/transport"
	githttp "github.com/go-git/go-git/v5/plumbing/transport/http"
)

// The keys AuthFromSecret reads, as Flux's source-controller names them.
const (
	KeyUsername    = "username"
	KeyPassword    = "password"
	KeyBearerToken = "bearerToken"
	KeyIdentity    = "identity"
	KeyKnownHosts  = "known_hosts"
)

// Auth is how to authenticate to a remote: HTTPS basic auth, an HTTPS bearer
// token, or an SSH identity checked against known_hosts. A nil *Auth is
// anonymous access.
type Auth struct {
	username, password string
	bearerToken        string
	ssh                *sshKey
}

// AuthFromSecret reads a Secret's data: "username" and "password" for
// basic auth, or "bearerToken", or an SSH "identity" with "known_hosts"
// (then "password" is the key's passphrase and "username" the SSH user when
// the URL names none). An SSH identity without known_hosts is an error:
// krt never accepts a host key it cannot check.
func AuthFromSecret(data map[string][]byte) (*Auth, error) {
	a := &Auth{
		username:    string(data[KeyUsername]),
		password:    string(data[KeyPassword]),
		bearerToken: string(data[KeyBearerToken]),
	}
	if identity := data[KeyIdentity]; len(identity) > 0 {
		if a.bearerToken != "" {
			return nil, errors.New(`the secret has both an SSH "identity" and a "bearerToken"; keep one`)
		}
		key, err := newSSHKey(identity, data[KeyKnownHosts], a.password)
		if err != nil {
			return nil, err
		}
		a.ssh = key
		return a, nil
	}
	if a.bearerToken != "" && (a.username != "" || a.password != "") {
		return nil, errors.New(`the secret has both "username"/"password" and a "bearerToken"; keep one`)
	}
	if a.password != "" && a.username == "" {
		return nil, errors.New(`the secret has a "password" but no "username"`)
	}
	return a, nil
}

// anonymous says whether a carries no credentials at all, so an auth
// failure can say that a secret is missing rather than wrong.
func (a *Auth) anonymous() bool {
	return a == nil || (a.ssh == nil && a.username == "" && a.bearerToken == "")
}

// method builds go-git's auth for one operation on rawURL. It is built per
// operation because the SSH dial timeout comes from ctx and the accepted
// host key algorithms depend on the host.
func (a *Auth) method(ctx context.Context, rawURL string) (transport.AuthMethod, error) {
	if a.anonymous() {
		return nil, nil
	}
	ep, err := transport.NewEndpoint(rawURL)
	if err != nil {
		return nil, fmt.Errorf("%s: not a git URL: %w", redact(rawURL), err)
	}
	isHTTP := ep.Protocol == "http" || ep.Protocol == "https"
	switch {
	case a.ssh != nil && ep.Protocol != "ssh":
		return nil, fmt.Errorf("%s: the secret holds an SSH identity, which needs an ssh:// or user@host:path URL", redact(rawURL))
	case a.ssh != nil:
		return a.ssh.method(ctx, ep, a.username), nil
	case !isHTTP:
		return nil, fmt.Errorf("%s: the secret holds HTTPS credentials, which need an http(s):// URL", redact(rawURL))
	case a.bearerToken != "":
		return &githttp.TokenAuth{Token: a.bearerToken}, nil
	default:
		return &githttp.BasicAuth{Username: a.username, Password: a.password}, nil
	}
}
