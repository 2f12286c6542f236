package security

import (
	"context"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
	"sigs.k8s.io/controller-runtime/pkg/client"

	krtv1 "krt.dev/krt/api/v1alpha1"
)

// attackServer is the tenant's https:// "API server" on 127.0.0.1. It
// answers /version as Kubernetes would, so a client that trusts its CA
// goes on to send credentials, and it records every request's token.
type attackServer struct {
	*httptest.Server
	requests atomic.Int64
	mu       sync.Mutex
	tokens   []string
}

func newAttackServer(t *testing.T) *attackServer {
	t.Helper()
	s := &attackServer{}
	s.Server = httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.requests.Add(1)
		s.mu.Lock()
		s.tokens = append(s.tokens, r.Header.Get("Authorization"))
		s.mu.Unlock()
		if r.URL.Path == "/version" {
			w.Header().Set("Content-Type", "application/json")
			fmt.Fprint(w, `{"major":"1","minor":"99","gitVersion":"v1.99.0-attacker"}`)
			return
		}
		http.NotFound(w, r)
	}))
	t.Cleanup(s.Close)
	return s
}

// sawToken says whether any request carried token.
func (s *attackServer) sawToken(token string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, h := range s.tokens {
		if strings.Contains(h, token) {
			return true
		}
	}
	return false
}

// caPEM is the server's certificate, which a client can trust as its CA.
func (s *attackServer) caPEM() []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: s.Certificate().Raw})
}

// keyPair is the server's own certificate and key, a valid client key
// pair for a client that would read them from files.
func (s *attackServer) keyPair(t *testing.T) (certPEM, keyPEM []byte) {
	t.Helper()
	pair := s.TLS.Certificates[0]
	key, err := x509.MarshalPKCS8PrivateKey(pair.PrivateKey)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: pair.Certificate[0]}),
		pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: key})
}

// connCounter is a TCP listener on 127.0.0.1, a would-be proxy, that
// counts the connections it is offered and closes them.
type connCounter struct {
	net.Listener
	conns atomic.Int64
}

func newConnCounter(t *testing.T) *connCounter {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	c := &connCounter{Listener: l}
	t.Cleanup(func() { l.Close() })
	go func() {
		for {
			conn, err := l.Accept()
			if err != nil {
				return
			}
			c.conns.Add(1)
			conn.Close()
		}
	}()
	return c
}

// tenantKubeconfig is a kubeconfig for server that trusts its CA and
// carries an inline token, changed by edit.
func tenantKubeconfig(t *testing.T, s *attackServer, edit func(c *clientcmdapi.Cluster, u *clientcmdapi.AuthInfo)) []byte {
	t.Helper()
	cfg := clientcmdapi.NewConfig()
	cfg.Clusters["target"] = &clientcmdapi.Cluster{Server: s.URL, CertificateAuthorityData: s.caPEM()}
	cfg.AuthInfos["tenant"] = &clientcmdapi.AuthInfo{Token: "tenant-inline-token"}
	cfg.Contexts["target"] = &clientcmdapi.Context{Cluster: "target", AuthInfo: "tenant"}
	cfg.CurrentContext = "target"
	if edit != nil {
		edit(cfg.Clusters["target"], cfg.AuthInfos["tenant"])
	}
	raw, err := clientcmd.Write(*cfg)
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

// createTenantCluster creates, as a tenant would in their namespace, a
// kubeconfig Secret and a Cluster naming it; deleting the Cluster at the
// end stops the controller's probes.
func createTenantCluster(t *testing.T, ns, name string, kubeconfig []byte) *krtv1.Cluster {
	t.Helper()
	ctx := context.Background()
	secret := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: name + "-kubeconfig", Namespace: ns},
		Data: map[string][]byte{"kubeconfig": kubeconfig}}
	cl := &krtv1.Cluster{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns}, Spec: krtv1.ClusterSpec{
		KubeconfigSecretRef: krtv1.SecretKeySelector{Name: secret.Name, Key: "kubeconfig"}, Namespace: ns}}
	for _, o := range []client.Object{secret, cl} {
		if err := env.Client.Create(ctx, o); err != nil {
			t.Fatal(err)
		}
	}
	t.Cleanup(func() { _ = env.Client.Delete(ctx, cl) })
	return cl
}

// waitClusterCondition waits until the Cluster's condition typ has
// status and reason, and returns it.
func waitClusterCondition(t *testing.T, cl *krtv1.Cluster, typ string, status metav1.ConditionStatus, reason string) metav1.Condition {
	t.Helper()
	var got metav1.Condition
	last := ""
	defer func() {
		if t.Failed() {
			t.Logf("cluster %s's last conditions: %s%s", cl.Name, last, stack.ControllerState())
		}
	}()
	eventually(t, time.Minute, fmt.Sprintf("cluster %s to be %s=%s (%s)", cl.Name, typ, status, reason), func() bool {
		cur := &krtv1.Cluster{}
		if err := env.Client.Get(context.Background(), client.ObjectKeyFromObject(cl), cur); err != nil {
			return false
		}
		last = fmt.Sprint(cur.Status.Conditions)
		c := apimeta.FindStatusCondition(cur.Status.Conditions, typ)
		if c == nil || c.Status != status || c.Reason != reason {
			return false
		}
		got = *c
		return true
	})
	return got
}
