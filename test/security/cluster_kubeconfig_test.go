package security

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
	"sigs.k8s.io/controller-runtime/pkg/client"

	krtv1 "krt.dev/krt/api/v1alpha1"
	"krt.dev/krt/controllers/cluster"
)

// kubeconfigRig is what one attack watches: the tenant's server, a
// would-be proxy, a file standing for krt-controller's ServiceAccount
// token, and the file an exec plugin would create.
type kubeconfigRig struct {
	srv    *attackServer
	proxy  *connCounter
	stolen string // the token's content
	token  string // its path
	marker string
}

func newKubeconfigRig(t *testing.T) *kubeconfigRig {
	t.Helper()
	dir := t.TempDir()
	r := &kubeconfigRig{srv: newAttackServer(t), proxy: newConnCounter(t),
		stolen: "krt-controller-sa-token-" + strings.ToLower(filepath.Base(dir)),
		token:  filepath.Join(dir, "token"), marker: filepath.Join(dir, "pwned")}
	if err := os.WriteFile(r.token, []byte(r.stolen), 0o600); err != nil {
		t.Fatal(err)
	}
	return r
}

// file writes data for the kubeconfig to name by path.
func (r *kubeconfigRig) file(t *testing.T, name string, data []byte) string {
	t.Helper()
	p := filepath.Join(filepath.Dir(r.token), name)
	if err := os.WriteFile(p, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// evidence lists what the attacker would see if the attack worked.
func (r *kubeconfigRig) evidence() []string {
	var out []string
	if n := r.srv.requests.Load(); n > 0 {
		out = append(out, fmt.Sprintf("the tenant's server got %d requests", n))
	}
	if r.srv.sawToken(r.stolen) {
		out = append(out, "the token file's content reached the tenant's server")
	}
	if n := r.proxy.conns.Load(); n > 0 {
		out = append(out, fmt.Sprintf("the tenant's proxy got %d connections", n))
	}
	if _, err := os.Stat(r.marker); err == nil {
		out = append(out, "the exec plugin ran: "+r.marker+" exists")
	}
	return out
}

// A tenant's Cluster whose kubeconfig would run a command, read a file on
// krt-controller's host, go through a proxy or skip TLS verification is
// refused: Ready=False and Stalled=True with reason InsecureKubeconfig and
// a message naming the field and the flag that would allow it. Nothing
// runs, nothing is read, no connection is made: each case's kubeconfig
// trusts the tenant's server, which counts every request and the tokens
// sent, so a client that honoured the field would reach it.
func TestClusterKubeconfigAttacks(t *testing.T) {
	ns := env.Namespace(t)
	type edit = func(t *testing.T, r *kubeconfigRig, c *clientcmdapi.Cluster, u *clientcmdapi.AuthInfo)
	cases := []struct {
		name, field, entry, flag string
		edit                     edit
	}{
		{"exec", "exec", `user "tenant"`, cluster.FlagInsecureExec,
			func(_ *testing.T, r *kubeconfigRig, _ *clientcmdapi.Cluster, u *clientcmdapi.AuthInfo) {
				u.Token = ""
				u.Exec = &clientcmdapi.ExecConfig{APIVersion: "client.authentication.k8s.io/v1", Command: "/bin/sh",
					Args: []string{"-c", "touch " + r.marker}, InteractiveMode: clientcmdapi.NeverExecInteractiveMode}
			}},
		{"auth-provider", "auth-provider", `user "tenant"`, cluster.FlagInsecureExec,
			func(_ *testing.T, r *kubeconfigRig, _ *clientcmdapi.Cluster, u *clientcmdapi.AuthInfo) {
				u.Token = ""
				u.AuthProvider = &clientcmdapi.AuthProviderConfig{Name: "oidc", Config: map[string]string{
					"idp-issuer-url": r.srv.URL, "client-id": "krt", "idp-certificate-authority": r.token}}
			}},
		{"tokenFile", "tokenFile", `user "tenant"`, cluster.FlagInsecureFiles,
			func(_ *testing.T, r *kubeconfigRig, _ *clientcmdapi.Cluster, u *clientcmdapi.AuthInfo) {
				u.Token, u.TokenFile = "", r.token
			}},
		{"client-certificate", "client-certificate", `user "tenant"`, cluster.FlagInsecureFiles,
			func(t *testing.T, r *kubeconfigRig, _ *clientcmdapi.Cluster, u *clientcmdapi.AuthInfo) {
				cert, key := r.srv.keyPair(t)
				u.ClientCertificate, u.ClientKeyData = r.file(t, "tls.crt", cert), key
			}},
		{"client-key", "client-key", `user "tenant"`, cluster.FlagInsecureFiles,
			func(t *testing.T, r *kubeconfigRig, _ *clientcmdapi.Cluster, u *clientcmdapi.AuthInfo) {
				cert, key := r.srv.keyPair(t)
				u.ClientCertificateData, u.ClientKey = cert, r.file(t, "tls.key", key)
			}},
		{"certificate-authority", "certificate-authority", `cluster "target"`, cluster.FlagInsecureFiles,
			func(t *testing.T, r *kubeconfigRig, c *clientcmdapi.Cluster, _ *clientcmdapi.AuthInfo) {
				c.CertificateAuthorityData, c.CertificateAuthority = nil, r.file(t, "ca.crt", r.srv.caPEM())
			}},
		{"proxy-url", "proxy-url", `cluster "target"`, cluster.FlagInsecureProxy,
			func(_ *testing.T, r *kubeconfigRig, c *clientcmdapi.Cluster, _ *clientcmdapi.AuthInfo) {
				c.ProxyURL = "http://" + r.proxy.Addr().String()
			}},
		{"insecure-skip-tls-verify", "insecure-skip-tls-verify", `cluster "target"`, cluster.FlagInsecureTLS,
			func(_ *testing.T, _ *kubeconfigRig, c *clientcmdapi.Cluster, _ *clientcmdapi.AuthInfo) {
				c.CertificateAuthorityData, c.InsecureSkipTLSVerify = nil, true
			}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := newKubeconfigRig(t)
			kc := tenantKubeconfig(t, r.srv, func(c *clientcmdapi.Cluster, u *clientcmdapi.AuthInfo) { tc.edit(t, r, c, u) })
			cl := createTenantCluster(t, ns, strings.ToLower(tc.name), kc)
			ready := waitRefused(t, cl, r)
			want := []string{fmt.Sprintf("%s sets %s, which ", tc.entry, tc.field), "--" + tc.flag}
			for _, w := range want {
				if !strings.Contains(ready.Message, w) {
					t.Errorf("Ready's message %q does not say %q", ready.Message, w)
				}
			}
			stalled := waitClusterCondition(t, cl, krtv1.ConditionStalled, metav1.ConditionTrue, cluster.ReasonInsecure)
			if stalled.Message != ready.Message {
				t.Errorf("Stalled says %q, Ready %q", stalled.Message, ready.Message)
			}
			if ev := r.evidence(); len(ev) > 0 {
				t.Errorf("the attack worked: %s", strings.Join(ev, "; "))
			}
		})
	}

	// The control: the same server, with an inline token, is reached, so
	// each case's silence above is the controller's refusal.
	t.Run("inline credentials reach the server", func(t *testing.T) {
		r := newKubeconfigRig(t)
		cl := createTenantCluster(t, ns, "inline", tenantKubeconfig(t, r.srv, nil))
		eventually(t, time.Minute, "the controller to probe the tenant's server", func() bool {
			cur := &krtv1.Cluster{}
			return env.Client.Get(context.Background(), client.ObjectKeyFromObject(cl), cur) == nil &&
				cur.Status.ServerVersion == "v1.99.0-attacker"
		})
		if !r.srv.sawToken("tenant-inline-token") {
			t.Errorf("the server never saw the kubeconfig's inline token")
		}
	})
}

// waitRefused waits for the Cluster's Ready=False with reason
// InsecureKubeconfig, failing at once with what the attacker got if the
// attack works meanwhile, or with the verdict if it is another.
func waitRefused(t *testing.T, cl *krtv1.Cluster, r *kubeconfigRig) metav1.Condition {
	t.Helper()
	var got metav1.Condition
	last := ""
	err := wait.PollUntilContextTimeout(context.Background(), 50*time.Millisecond, time.Minute, true,
		func(ctx context.Context) (bool, error) {
			if ev := r.evidence(); len(ev) > 0 {
				return false, fmt.Errorf("the attack worked: %s", strings.Join(ev, "; "))
			}
			cur := &krtv1.Cluster{}
			if err := env.Client.Get(ctx, client.ObjectKeyFromObject(cl), cur); err != nil {
				return false, nil
			}
			last = fmt.Sprint(cur.Status.Conditions)
			c := apimeta.FindStatusCondition(cur.Status.Conditions, krtv1.ConditionReady)
			switch {
			case c == nil:
				return false, nil
			case c.Status != metav1.ConditionFalse || c.Reason != cluster.ReasonInsecure:
				// The kubeconfig is checked before anything else: any
				// other verdict means it was used.
				return false, fmt.Errorf("the kubeconfig was used: Ready=%s %s %q", c.Status, c.Reason, c.Message)
			}
			got = *c
			return true, nil
		})
	if err != nil {
		t.Fatalf("cluster %s was not refused: %v; its conditions: %s%s", cl.Name, err, last, stack.ControllerState())
	}
	return got
}
