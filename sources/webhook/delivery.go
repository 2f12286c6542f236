package webhook

import (
	"crypto/sha256"
	"encoding/hex"
	"net/http"
)

// DeliveryID names one delivery, so that its replay can be refused. It
// must come from what the sender signs, or an attacker replaying a
// captured request would just change it:
//
//   - GitHub and generic senders sign the body, not their headers (GitHub's
//     X-GitHub-Delivery could be anything in a replay), so the ID is a
//     digest of the body. GitHub's bodies carry timestamps (a PR's
//     updated_at, a push's pushed_at), so two real events never share
//     one; a generic sender must make each body unique the same way.
//   - GitLab signs nothing: X-Gitlab-Token is the secret itself, and
//     whoever holds it can forge any delivery, so no ID stops more than a
//     redelivery. Its Idempotency-Key (the same for the retries of one
//     event) or X-Gitlab-Event-UUID names the delivery; a body without
//     either falls back to its digest. GitLab's push bodies carry no
//     time, so two pushes from one commit to the same one would
//     otherwise look like one.
//
// The ID is 32 hex characters of a SHA-256.
func DeliveryID(provider string, h http.Header, body []byte) string {
	key := append([]byte(provider+"\x00body\x00"), body...)
	if provider == GitLab {
		for _, name := range []string{"Idempotency-Key", "X-Gitlab-Event-UUID"} {
			if v := h.Get(name); v != "" {
				key = []byte(provider + "\x00" + name + "\x00" + v)
				break
			}
		}
	}
	sum := sha256.Sum256(key)
	return hex.EncodeToString(sum[:16])
}
