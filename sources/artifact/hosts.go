package artifact

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"
)

// ErrHost means an artifact URL is on a host krt does not download from.
var ErrHost = errors.New("artifact host not allowed")

// DefaultHosts are the names under which Flux's source-controller serves
// artifacts in a default install (its --storage-adv-addr).
var DefaultHosts = []string{
	"source-controller.flux-system.svc.cluster.local",
	"source-controller.flux-system.svc",
	"source-controller.flux-system",
}

// DefaultTimeout bounds one download, whatever the repository's timeout.
const DefaultTimeout = 2 * time.Minute

// NewClient is an HTTP client that downloads only from hosts, each a host
// name (any port) or host:port, and only within timeout. The check is on
// every request the client makes, so a redirect elsewhere is refused too.
// An artifact's URL is written by whoever may write the source's status,
// so without it krt-controller would fetch any address its pod can reach.
func NewClient(hosts []string, timeout time.Duration) *http.Client {
	allowed := map[string]bool{}
	for _, h := range hosts {
		if h = normalHost(h); h != "" {
			allowed[h] = true
		}
	}
	return &http.Client{
		Timeout:   timeout,
		Transport: &hostGuard{next: http.DefaultTransport, allowed: allowed, list: strings.Join(hosts, ", ")},
	}
}

type hostGuard struct {
	next    http.RoundTripper
	allowed map[string]bool
	list    string
}

func (g *hostGuard) RoundTrip(req *http.Request) (*http.Response, error) {
	u := req.URL
	host, hostPort := normalHost(u.Hostname()), normalHost(u.Host)
	if (u.Scheme != "http" && u.Scheme != "https") || !(g.allowed[host] || g.allowed[hostPort]) {
		if req.Body != nil {
			_ = req.Body.Close()
		}
		return nil, fmt.Errorf("%w: %s://%s is not one of the hosts krt downloads artifacts from (%s); "+
			"the operator adds hosts with krt-controller --artifact-hosts", ErrHost, u.Scheme, u.Host, g.list)
	}
	return g.next.RoundTrip(req)
}

// normalHost lowers a name and drops the trailing dot of a fully
// qualified one (Flux advertises "source-controller.flux-system.svc.cluster.local.").
func normalHost(h string) string {
	h = strings.ToLower(strings.TrimSpace(h))
	if i := strings.LastIndex(h, ":"); i > 0 && !strings.Contains(h[i:], "]") && strings.Count(h, ":") == 1 {
		return strings.TrimSuffix(h[:i], ".") + h[i:]
	}
	return strings.TrimSuffix(h, ".")
}
