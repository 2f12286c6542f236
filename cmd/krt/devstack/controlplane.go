package devstack

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"

	"krt.dev/krt/api/scheme"
)

// controlPlane is one kube-apiserver with its etcd. etcd keeps its data
// in the dev directory, so the next `up` resumes where this one stopped.
type controlPlane struct {
	name       string
	env        *envtest.Environment
	cfg        *rest.Config
	client     client.Client
	kubeconfig string // path of the admin kubeconfig
	raw        []byte // its content, for the hub's Cluster Secrets
	server     string
	procs      []Proc
	dog        *watchdog
	logs       []*os.File
}

func startControlPlane(name, dir, logs string, p paths) (*controlPlane, error) {
	etcdDir, certDir := filepath.Join(dir, "etcd"), filepath.Join(dir, "certs")
	// envtest makes new certificates only into an empty directory, and its
	// client CA is new each time, so old certificates are useless anyway.
	if err := os.RemoveAll(certDir); err != nil {
		return nil, err
	}
	for _, d := range []string{etcdDir, certDir} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return nil, err
		}
	}
	resumed := !emptyDir(etcdDir)
	cp, err := newControlPlane(name, etcdDir, certDir, logs, p)
	if err != nil {
		return nil, err
	}
	cfg, err := cp.env.Start()
	cp.recordProcs(etcdDir, certDir)
	if err != nil {
		cp.stop()
		return nil, startFailure(name, dir, logs, resumed, err)
	}
	cp.cfg, cp.server = cfg, cfg.Host
	if err := cp.finish(dir, p); err != nil {
		cp.stop()
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return cp, nil
}

// newControlPlane configures envtest with the tools found, etcd's data in
// the dev directory, and each process's output in a log of its own.
func newControlPlane(name, etcdDir, certDir, logs string, p paths) (*controlPlane, error) {
	etcdLog, err := logFile(logs, name+"-etcd.log")
	if err != nil {
		return nil, err
	}
	apiLog, err := logFile(logs, name+"-apiserver.log")
	if err != nil {
		etcdLog.Close()
		return nil, err
	}
	env := &envtest.Environment{
		UseExistingCluster: ptr.To(false),
		ControlPlane: envtest.ControlPlane{
			Etcd:      &envtest.Etcd{Path: filepath.Join(p.Tools, "etcd"), DataDir: etcdDir, Out: etcdLog, Err: etcdLog},
			APIServer: &envtest.APIServer{Path: filepath.Join(p.Tools, "kube-apiserver"), CertDir: certDir, Out: apiLog, Err: apiLog},
		},
		CRDDirectoryPaths:        []string{filepath.Join(p.Root, "config", "crd", "bases")},
		ErrorIfCRDPathMissing:    true,
		ControlPlaneStartTimeout: time.Minute,
		ControlPlaneStopTimeout:  20 * time.Second,
	}
	if err := PinPorts(&env.ControlPlane); err != nil {
		etcdLog.Close()
		apiLog.Close()
		return nil, err
	}
	return &controlPlane{name: name, env: env, logs: []*os.File{etcdLog, apiLog}}, nil
}

// recordProcs finds the etcd and kube-apiserver envtest started, for
// state.json and the watchdog.
func (cp *controlPlane) recordProcs(etcdDir, certDir string) {
	if p, ok := ownChild("etcd", etcdDir); ok {
		cp.procs = append(cp.procs, p)
	}
	if p, ok := ownChild("kube-apiserver", certDir); ok {
		cp.procs = append(cp.procs, p)
	}
	cp.dog = startWatchdog(cp.procs)
}

// finish gives the control plane a client, a kubeconfig, krt's admission
// policies and its roles.
func (cp *controlPlane) finish(dir string, p paths) error {
	var err error
	if cp.client, err = client.New(cp.cfg, client.Options{Scheme: scheme.New()}); err != nil {
		return err
	}
	// The developer is also a release manager, the approvers that
	// promote.yaml names, so `krt wf approve` works in the dev stack.
	user, err := cp.env.AddUser(envtest.User{Name: "krt-dev-admin", Groups: []string{"system:masters", "release-managers"}}, nil)
	if err != nil {
		return err
	}
	if cp.raw, err = user.KubeConfig(); err != nil {
		return err
	}
	if cp.raw, err = renameContext(cp.raw, "krt-dev-"+cp.name); err != nil {
		return err
	}
	cp.kubeconfig = filepath.Join(dir, "kubeconfig")
	if err := os.WriteFile(cp.kubeconfig, cp.raw, 0o600); err != nil {
		return err
	}
	// config/rbac holds the ClusterRole runtimed's pods are bound to.
	for _, dir := range []string{"policy", "rbac"} {
		if err := ApplyManifests(cp.client, filepath.Join(p.Root, "config", dir)); err != nil {
			return err
		}
	}
	return nil
}

// renameContext names the kubeconfig's cluster, user and context after
// the dev cluster, so that `kubectl config get-contexts` says which is
// which, with namespace default.
func renameContext(raw []byte, name string) ([]byte, error) {
	cfg, err := clientcmd.Load(raw)
	if err != nil {
		return nil, err
	}
	cur, ok := cfg.Contexts[cfg.CurrentContext]
	if !ok {
		return nil, fmt.Errorf("envtest wrote a kubeconfig without a current context")
	}
	out := clientcmdapi.NewConfig()
	out.Clusters[name] = cfg.Clusters[cur.Cluster]
	out.AuthInfos[name] = cfg.AuthInfos[cur.AuthInfo]
	out.Contexts[name] = &clientcmdapi.Context{Cluster: name, AuthInfo: name, Namespace: "default"}
	out.CurrentContext = name
	return clientcmd.Write(*out)
}

// startFailure explains why a control plane did not start, pointing at
// the way out when it was etcd with existing data: most likely a dev
// directory damaged by a crash or by another etcd version.
func startFailure(name, dir, logs string, resumed bool, err error) error {
	etcdLog := filepath.Join(logs, name+"-etcd.log")
	apiLog := filepath.Join(logs, name+"-apiserver.log")
	purge := wayOut(filepath.Dir(dir))
	msg := err.Error()
	switch {
	case strings.Contains(msg, "process etcd") && resumed:
		return fmt.Errorf("%s: etcd could not open its data in %s (see %s); the directory may be damaged: %s",
			name, filepath.Join(dir, "etcd"), etcdLog, purge)
	case strings.Contains(msg, "process etcd"):
		return fmt.Errorf("%s: etcd did not start (see %s): %v", name, etcdLog, err)
	case strings.Contains(msg, "kube-apiserver"):
		return fmt.Errorf("%s: kube-apiserver did not start (see %s): %v", name, apiLog, err)
	}
	return fmt.Errorf("%s: starting kube-apiserver and etcd: %v (logs in %s)", name, err, logs)
}

func (cp *controlPlane) stop() {
	if cp == nil {
		return
	}
	_ = cp.env.Stop()
	// Whatever envtest could not stop must not outlive the dev stack.
	stopAll(cp.procs, 5*time.Second)
	cp.dog.stop()
	for _, f := range cp.logs {
		f.Close()
	}
}

// ApplyManifests creates (or updates) every object in dir's YAML files,
// as an install would.
func ApplyManifests(c client.Client, dir string) error {
	files, err := filepath.Glob(filepath.Join(dir, "*.yaml"))
	if err != nil {
		return err
	}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			return err
		}
		dec := utilyaml.NewYAMLOrJSONDecoder(bytes.NewReader(data), 4096)
		for {
			obj := &unstructured.Unstructured{}
			if err := dec.Decode(&obj.Object); errors.Is(err, io.EOF) {
				break
			} else if err != nil {
				return fmt.Errorf("%s: %w", f, err)
			}
			if len(obj.Object) > 0 {
				if err := createOrUpdate(c, obj); err != nil {
					return fmt.Errorf("%s: %w", f, err)
				}
			}
		}
	}
	return nil
}

func createOrUpdate(c client.Client, obj *unstructured.Unstructured) error {
	ctx := context.Background()
	err := c.Create(ctx, obj)
	if !apierrors.IsAlreadyExists(err) {
		return err
	}
	cur := &unstructured.Unstructured{}
	cur.SetGroupVersionKind(obj.GroupVersionKind())
	if err := c.Get(ctx, client.ObjectKeyFromObject(obj), cur); err != nil {
		return err
	}
	obj.SetResourceVersion(cur.GetResourceVersion())
	return c.Update(ctx, obj)
}

func emptyDir(dir string) bool {
	entries, err := os.ReadDir(dir)
	return err == nil && len(entries) == 0
}

func logFile(dir, name string) (*os.File, error) {
	return os.OpenFile(filepath.Join(dir, name), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
}
