// Package webhook verifies and decodes the push and pull-request webhooks
// of GitHub, GitLab and a generic HMAC sender. It knows nothing of
// Kubernetes; the source controller's receiver serves it.
package webhook

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
)

// Providers of webhooks.
const (
	GitHub  = "github"
	GitLab  = "gitlab"
	Generic = "generic"
)

// MaxBody caps a payload; larger ones are refused before anything is
// verified or decoded.
const MaxBody = 1 << 20

// ErrUnauthorized means the signature or token did not match.
var ErrUnauthorized = errors.New("webhook signature does not match")

// ErrTooLarge means the body passed MaxBody.
var ErrTooLarge = errors.New("webhook body is too large")

// ReadBody reads at most MaxBody bytes of a request's body.
func ReadBody(r *http.Request) ([]byte, error) {
	body, err := io.ReadAll(io.LimitReader(r.Body, MaxBody+1))
	if err != nil {
		return nil, err
	}
	if len(body) > MaxBody {
		return nil, ErrTooLarge
	}
	return body, nil
}

// Verify checks a request against the shared secret the way its provider
// signs: GitHub's X-Hub-Signature-256 (HMAC-SHA256 of the body), GitLab's
// X-Gitlab-Token (the secret itself), or a generic X-Signature header with
// "sha256=<hex HMAC>". Every comparison is constant-time.
func Verify(h http.Header, body, secret []byte) (provider string, err error) {
	switch {
	case h.Get("X-Hub-Signature-256") != "":
		return GitHub, verifyHMAC(h.Get("X-Hub-Signature-256"), body, secret)
	case h.Get("X-Gitlab-Token") != "":
		if subtle.ConstantTimeCompare([]byte(h.Get("X-Gitlab-Token")), secret) != 1 {
			return GitLab, ErrUnauthorized
		}
		return GitLab, nil
	case h.Get("X-Signature") != "":
		return Generic, verifyHMAC(h.Get("X-Signature"), body, secret)
	}
	return "", fmt.Errorf("%w: no X-Hub-Signature-256, X-Gitlab-Token or X-Signature header", ErrUnauthorized)
}

func verifyHMAC(header string, body, secret []byte) error {
	got, ok := strings.CutPrefix(header, "sha256=")
	if !ok {
		return fmt.Errorf("%w: the signature is not sha256=<hex>", ErrUnauthorized)
	}
	sig, err := hex.DecodeString(got)
	if err != nil {
		return fmt.Errorf("%w: the signature is not hex", ErrUnauthorized)
	}
	if !hmac.Equal(sig, Sign(body, secret)) {
		return ErrUnauthorized
	}
	return nil
}

// Sign is the HMAC-SHA256 of a body, as GitHub and the generic sender
// compute it.
func Sign(body, secret []byte) []byte {
	mac := hmac.New(sha256.New, secret)
	mac.Write(body)
	return mac.Sum(nil)
}

// SignatureHeader is the value of X-Hub-Signature-256 for a body.
func SignatureHeader(body, secret []byte) string {
	return "sha256=" + hex.EncodeToString(Sign(body, secret))
}

// Path is the receiver's path for a repository: derived from the secret
// token, as Flux's receivers do, so it cannot be guessed without it.
func Path(token []byte, namespace, name string) string {
	sum := sha256.Sum256([]byte(string(token) + "/" + namespace + "/" + name))
	return "/hook/" + hex.EncodeToString(sum[:])
}
