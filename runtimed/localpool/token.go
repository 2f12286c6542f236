package localpool

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"

	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/utils/ptr"
)

// tokenLifetime outlasts any test or dev session.
const tokenLifetime = 24 * 60 * 60

// podKubeconfig gives runtimed the identity a kubelet would: a token for
// the pod's ServiceAccount, bound to the pod. runtimed then works with
// exactly the Role the Runtime controller made, as it would in a cluster.
func (p *Pool) podKubeconfig(ctx context.Context, pp *podProcs) (string, error) {
	if !p.opts.ServiceAccountTokens {
		return p.opts.Kubeconfig, nil
	}
	sa := &corev1.ServiceAccount{}
	sa.Namespace, sa.Name = pp.pod.Namespace, pp.pod.Spec.ServiceAccountName
	tr := &authenticationv1.TokenRequest{Spec: authenticationv1.TokenRequestSpec{
		ExpirationSeconds: ptr.To(int64(tokenLifetime)),
		BoundObjectRef:    &authenticationv1.BoundObjectReference{Kind: "Pod", APIVersion: "v1", Name: pp.pod.Name, UID: pp.pod.UID},
	}}
	if err := p.client.SubResource("token").Create(ctx, sa, tr); err != nil {
		return "", fmt.Errorf("a token for service account %s/%s: %w", sa.Namespace, sa.Name, err)
	}
	cfg, err := clientcmd.LoadFromFile(p.opts.Kubeconfig)
	if err != nil {
		return "", err
	}
	for _, auth := range cfg.AuthInfos {
		auth.ClientCertificate, auth.ClientCertificateData = "", nil
		auth.ClientKey, auth.ClientKeyData = "", nil
		auth.Token = tr.Status.Token
	}
	path := filepath.Join(pp.dir, "kubeconfig")
	if err := clientcmd.WriteToFile(*cfg, path); err != nil {
		return "", err
	}
	return path, os.Chmod(path, 0o600)
}

// runtimeToken is the file holding the pod's runtime socket token, made
// once per pod: krt-runtime asks runtimed for it, since in the local pool
// both run as one uid and the socket cannot tell them apart by it. A step
// sharing that uid could still read it: the local pool is for development
// and tests, and a cluster checks the uid instead.
func (pp *podProcs) runtimeToken() (string, error) {
	path := filepath.Join(pp.dir, "runtime-token")
	if _, err := os.Stat(path); err == nil {
		return path, nil
	}
	token := make([]byte, 32)
	if _, err := rand.Read(token); err != nil {
		return "", err
	}
	return path, os.WriteFile(path, []byte(hex.EncodeToString(token)), 0o600)
}
