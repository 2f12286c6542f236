package kubetest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/util/wait"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/kyaml/filesys"

	krtv1 "krt.dev/krt/api/v1alpha1"
)

// The controller's ServiceAccount, as config/manager names it.
const (
	ControllerNamespace      = "krt-system"
	ControllerServiceAccount = "krt-controller"
)

// identityDirs are the parts of config/default that give the controller
// its identity and permissions: the generated ClusterRole, and the
// namespace, ServiceAccount and bindings. identityKinds are what is taken
// from them; the Deployment, whose pod is a test's process, is left out.
var identityDirs = []string{"rbac", "manager"}

var identityKinds = map[string]bool{
	"Namespace": true, "ServiceAccount": true,
	"ClusterRole": true, "ClusterRoleBinding": true, "Role": true, "RoleBinding": true,
}

// ControllerKubeconfig installs krt-controller's ServiceAccount and RBAC
// from config/, as `kubectl apply -k config/default` would (the ClusterRole
// is the one controller-gen writes, bound as the install binds it), and
// returns a kubeconfig with a token the API server issued for that
// ServiceAccount: a controller started with it has exactly the install's
// permissions.
func (e *Env) ControllerKubeconfig() (string, error) {
	root, err := RepoRoot()
	if err != nil {
		return "", err
	}
	var objs []*unstructured.Unstructured
	for _, dir := range identityDirs {
		built, err := kustomizeBuild(filepath.Join(root, "config", dir))
		if err != nil {
			return "", err
		}
		objs = append(objs, built...)
	}
	ctx := context.Background()
	for _, o := range objs {
		if !identityKinds[o.GetKind()] {
			continue
		}
		err := e.Client.Apply(ctx, client.ApplyConfigurationFromUnstructured(o),
			client.FieldOwner("kubetest"), client.ForceOwnership)
		if err != nil {
			return "", fmt.Errorf("applying %s %s from config/: %w", o.GetKind(), o.GetName(), err)
		}
	}
	return e.serviceAccountKubeconfig(ctx, ControllerNamespace, ControllerServiceAccount, nil)
}

// PodKubeconfig returns a kubeconfig with the identity a kubelet gives a
// pod's containers: a token for the pod's ServiceAccount, bound to the
// pod. It returns once RBAC lets that account list Runs in the pod's
// namespace.
func (e *Env) PodKubeconfig(ctx context.Context, pod *corev1.Pod) (string, error) {
	return e.serviceAccountKubeconfig(ctx, pod.Namespace, pod.Spec.ServiceAccountName,
		&authenticationv1.BoundObjectReference{Kind: "Pod", APIVersion: "v1", Name: pod.Name, UID: pod.UID})
}

// serviceAccountKubeconfig writes a kubeconfig that authenticates with a
// TokenRequest token for the ServiceAccount, bound to an object unless
// bound is nil, after checking that the API server takes it for that
// account and that RBAC lets it list Runs in ns.
func (e *Env) serviceAccountKubeconfig(ctx context.Context, ns, name string, bound *authenticationv1.BoundObjectReference) (string, error) {
	sa := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}}
	tr := &authenticationv1.TokenRequest{Spec: authenticationv1.TokenRequestSpec{
		ExpirationSeconds: ptr.To(int64(24 * 60 * 60)),
		BoundObjectRef:    bound,
	}}
	if err := e.Client.SubResource("token").Create(ctx, sa, tr); err != nil {
		return "", fmt.Errorf("a token for service account %s/%s: %w", ns, name, err)
	}
	cfg, err := clientcmd.LoadFromFile(e.Kubeconfig)
	if err != nil {
		return "", err
	}
	for _, auth := range cfg.AuthInfos {
		auth.ClientCertificate, auth.ClientCertificateData = "", nil
		auth.ClientKey, auth.ClientKeyData = "", nil
		auth.Token = tr.Status.Token
	}
	file := ns + "-" + name
	if bound != nil {
		file += "-" + bound.Name
	}
	path := filepath.Join(e.Dir, file+".kubeconfig")
	if err := clientcmd.WriteToFile(*cfg, path); err != nil {
		return "", err
	}
	if err := os.Chmod(path, 0o600); err != nil {
		return "", err
	}
	within := ns
	if bound == nil {
		within = "" // the controller's rights are cluster-wide
	}
	return path, e.checkIdentity(ctx, path, "system:serviceaccount:"+ns+":"+name, within)
}

// checkIdentity asks the API server who the kubeconfig's user is, then
// waits until RBAC lets that user list Runs in ns (every namespace when
// ""): the API server's authorizer learns of new bindings from a watch,
// and a controller started before that would log a refusal the tests look
// for.
func (e *Env) checkIdentity(ctx context.Context, kubeconfig, want, ns string) error {
	cfg, err := clientcmd.BuildConfigFromFlags("", kubeconfig)
	if err != nil {
		return err
	}
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return err
	}
	rev, err := cs.AuthenticationV1().SelfSubjectReviews().Create(ctx, &authenticationv1.SelfSubjectReview{}, metav1.CreateOptions{})
	if err != nil {
		return fmt.Errorf("who is %s: %w", kubeconfig, err)
	}
	if got := rev.Status.UserInfo.Username; got != want {
		return fmt.Errorf("%s authenticates as %q, want %q", kubeconfig, got, want)
	}
	c, err := client.New(cfg, client.Options{Scheme: e.Scheme})
	if err != nil {
		return err
	}
	var last error
	err = wait.PollUntilContextTimeout(ctx, 50*time.Millisecond, 30*time.Second, true, func(ctx context.Context) (bool, error) {
		last = c.List(ctx, &krtv1.RunList{}, client.InNamespace(ns), client.Limit(1))
		if last != nil && !apierrors.IsForbidden(last) {
			return false, last
		}
		return last == nil, nil
	})
	if err != nil {
		return fmt.Errorf("RBAC does not let %s list Runs: %w (last: %v)", want, err, last)
	}
	return nil
}

// kustomizeBuild is `kustomize build dir`, in process.
func kustomizeBuild(dir string) ([]*unstructured.Unstructured, error) {
	m, err := krusty.MakeKustomizer(krusty.MakeDefaultOptions()).Run(filesys.MakeFsOnDisk(), dir)
	if err != nil {
		return nil, fmt.Errorf("kustomize build %s: %w", dir, err)
	}
	data, err := m.AsYaml()
	if err != nil {
		return nil, err
	}
	var out []*unstructured.Unstructured
	dec := utilyaml.NewYAMLOrJSONDecoder(bytes.NewReader(data), 4096)
	for {
		obj := &unstructured.Unstructured{}
		if err := dec.Decode(&obj.Object); errors.Is(err, io.EOF) {
			return out, nil
		} else if err != nil {
			return nil, err
		}
		if len(obj.Object) > 0 {
			out = append(out, obj)
		}
	}
}
