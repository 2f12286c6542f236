// Package kubetest starts what krt's tests run against: a real
// kube-apiserver and etcd (the ones `make tools` builds) with krt's CRDs, and
// the real krt binaries built from this tree.
package kubetest

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"

	"krt.dev/krt/api/scheme"
	"krt.dev/krt/cmd/krt/devstack"
)

// AdminUser is the name Env.Client and the Env.Kubeconfig file
// authenticate as (envtest's admin, in system:masters). A manual
// WorkflowRun that a test creates as the admin must name this user in
// event.manual.user: config/policy refuses any other name.
const AdminUser = "admin"

// Env is one API server shared by a test package.
type Env struct {
	Config *rest.Config
	Client client.Client
	Scheme *runtime.Scheme
	// Kubeconfig is a file with admin credentials, for the processes a test
	// starts.
	Kubeconfig string
	Dir        string
	env        *envtest.Environment
}

// Options change the API server a package starts.
type Options struct {
	// FeatureGates is kube-apiserver's --feature-gates, e.g.
	// "CBORServingAndStorage=true" (alpha in 1.37, off by default, as in
	// most clusters); empty leaves the server's defaults.
	FeatureGates string
}

// Start starts an API server with krt's CRDs installed.
func Start() (*Env, error) { return StartWith(Options{}) }

// StartWith is Start with options, for the bench's comparisons.
func StartWith(o Options) (*Env, error) {
	root, err := RepoRoot()
	if err != nil {
		return nil, err
	}
	assets := filepath.Join(root, "bin")
	if _, err := os.Stat(filepath.Join(assets, "kube-apiserver")); err != nil {
		return nil, fmt.Errorf("kube-apiserver is not in %s: run `make tools` (make test does this for you)", assets)
	}
	dir, err := os.MkdirTemp("", "krt-test-")
	if err != nil {
		return nil, err
	}
	env := &envtest.Environment{
		BinaryAssetsDirectory: assets,
		// krt's CRDs, and Flux's source kinds that krt can read from.
		CRDDirectoryPaths:     []string{filepath.Join(root, "config", "crd", "bases"), filepath.Join(root, "test", "crds", "flux")},
		ErrorIfCRDPathMissing: true,
	}
	if err := devstack.PinPorts(&env.ControlPlane); err != nil {
		return nil, err
	}
	if o.FeatureGates != "" {
		env.ControlPlane.GetAPIServer().Configure().Append("feature-gates", o.FeatureGates)
	}
	cfg, err := env.Start()
	if err != nil {
		return nil, fmt.Errorf("starting kube-apiserver and etcd: %w", err)
	}
	reapOnExit()
	// controller-runtime's clients log through it, and warn until it is set.
	ctrl.SetLogger(zap.New(zap.WriteTo(os.Stderr), zap.Level(logLevel())))
	e := &Env{Config: cfg, Scheme: scheme.New(), Dir: dir, env: env}
	if e.Client, err = client.New(cfg, client.Options{Scheme: e.Scheme}); err != nil {
		_ = env.Stop()
		return nil, err
	}
	if e.Kubeconfig, err = e.writeKubeconfig(AdminUser, []string{"system:masters"}); err != nil {
		_ = env.Stop()
		return nil, err
	}
	// config/rbac: the ClusterRole krt-runtimed, which runtime pods are bound to.
	for _, dir := range []string{"policy", "rbac"} {
		if err := devstack.ApplyManifests(e.Client, filepath.Join(root, "config", dir)); err != nil {
			_ = env.Stop()
			return nil, fmt.Errorf("installing config/%s: %w", dir, err)
		}
	}
	return e, nil
}

// writeKubeconfig creates a user with client-certificate credentials.
func (e *Env) writeKubeconfig(name string, groups []string) (string, error) {
	user, err := e.env.AddUser(envtest.User{Name: name, Groups: groups}, nil)
	if err != nil {
		return "", err
	}
	data, err := user.KubeConfig()
	if err != nil {
		return "", err
	}
	path := filepath.Join(e.Dir, name+".kubeconfig")
	return path, os.WriteFile(path, data, 0o600)
}

// UserKubeconfig writes a kubeconfig file for a user in the given groups,
// for the CLI acting as someone other than the admin.
func (e *Env) UserKubeconfig(name string, groups ...string) (string, error) {
	return e.writeKubeconfig(name, groups)
}

// UserConfig returns a rest.Config for a user in the given groups.
func (e *Env) UserConfig(name string, groups ...string) (*rest.Config, error) {
	user, err := e.env.AddUser(envtest.User{Name: name, Groups: groups}, nil)
	if err != nil {
		return nil, err
	}
	return user.Config(), nil
}

// Stop stops the API server and removes the environment's files, unless
// KRT_TEST_KEEP is set: then the processes' logs stay for a post-mortem.
func (e *Env) Stop() {
	_ = e.env.Stop()
	if os.Getenv("KRT_TEST_KEEP") != "" {
		fmt.Fprintln(os.Stderr, "kept the test environment's files in", e.Dir)
		return
	}
	_ = os.RemoveAll(e.Dir)
}

// Namespace creates a namespace for one test, named after it.
func (e *Env) Namespace(t testing.TB) string {
	t.Helper()
	name := strings.ToLower(t.Name())
	name = strings.NewReplacer("/", "-", "_", "-").Replace(name)
	if len(name) > 50 {
		name = name[:50]
	}
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: strings.Trim(name, "-") + "-"}}
	if err := e.Client.Create(context.Background(), ns); err != nil {
		t.Fatalf("creating namespace: %v", err)
	}
	return ns.Name
}

// RepoRoot finds the directory holding krt's go.mod.
func RepoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		data, err := os.ReadFile(filepath.Join(dir, "go.mod"))
		if err == nil && strings.HasPrefix(string(data), "module krt.dev/krt\n") {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("not inside the krt repository")
		}
		dir = parent
	}
}

// RawClient is a REST client for requests with no Go type, as a user's
// YAML would send them.
func (e *Env) RawClient() rest.Interface {
	cs, err := kubernetes.NewForConfig(e.Config)
	if err != nil {
		panic(err)
	}
	return cs.CoreV1().RESTClient()
}
