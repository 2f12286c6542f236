// Package node runs a real single-node Kubernetes for the tests that
// need one: etcd, kube-apiserver, kube-controller-manager,
// kube-scheduler, containerd v2 with runc and CNI, the kubelet and
// kube-proxy, as local processes in a network namespace of their own.
//
// Every change it makes outside its state directory is undone by Stop,
// or by the next Start after a crash: the namespace (with the node's
// bridge, routes and iptables), the kubelet's global sysctls, its
// cgroups and its mounts.
package node

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	"krt.dev/krt/test/kubetest"
)

// Name is the node's name in the API.
const Name = "krt-node"

// Options says where the node's parts are.
type Options struct {
	// Dir holds all of the node's state; one node at a time uses it.
	Dir string
	// Bin holds kube-apiserver, etcd, the kubelet and the rest, as
	// `make tools` builds them.
	Bin string
	// Images are image tarballs imported into containerd before the
	// kubelet starts, so pods never pull.
	Images []string
	// Runc and CNIBinDir are Debian's runc and CNI plugins.
	Runc, CNIBinDir string
	// Logf reports progress.
	Logf func(format string, args ...any)
}

// Node is a running node.
type Node struct {
	opts  Options
	pki   *pki
	lock  *os.File
	procs []*kubetest.Process
	// mountNS is the holder's mount namespace, which every other
	// process of the node enters (mountns.go).
	mountNS  string
	stopOnce sync.Once
	// Kubeconfig is the cluster admin's (system:masters), for the
	// tests and for helm and kubectl.
	Kubeconfig string
	Config     *rest.Config
	Clientset  *kubernetes.Clientset
	// Timings, for the bench: from nothing to the API server ready, and
	// to the node Ready.
	APIServerReady, NodeReady time.Duration
}

func (n *Node) path(elem ...string) string {
	return filepath.Join(append([]string{n.opts.Dir}, elem...)...)
}

// ContainerdSocket is containerd's API, for ctr.
func (n *Node) ContainerdSocket() string { return n.path("containerd", "containerd.sock") }

// Server is the API server's address, reached over the veth pair.
func Server() string { return fmt.Sprintf("https://%s:%d", NodeIP, apiserverPort) }

// Start cleans up what an earlier node left and starts a new one.
func Start(ctx context.Context, opts Options) (_ *Node, err error) {
	n := &Node{opts: opts}
	if err := n.checkHost(); err != nil {
		return nil, err
	}
	if n.lock, err = lockDir(ctx, opts.Dir+".lock"); err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			n.Stop()
		}
	}()
	if err := n.cleanup(); err != nil {
		return nil, fmt.Errorf("cleaning up an earlier node: %w", err)
	}
	t0 := time.Now()
	if err := n.prepare(); err != nil {
		return nil, err
	}
	if err := n.startMountNamespace(ctx); err != nil {
		return nil, err
	}
	if err := n.startRuntime(ctx); err != nil {
		return nil, err
	}
	if err := n.startControlPlane(ctx); err != nil {
		return nil, err
	}
	n.APIServerReady = time.Since(t0)
	n.logf("node: API server ready after %s", n.APIServerReady.Round(100*time.Millisecond))
	if err := n.startKubelet(ctx); err != nil {
		return nil, err
	}
	n.NodeReady = time.Since(t0)
	n.logf("node: %s Ready after %s", Name, n.NodeReady.Round(100*time.Millisecond))
	return n, nil
}

func (n *Node) logf(format string, args ...any) {
	if n.opts.Logf != nil {
		n.opts.Logf(format, args...)
	}
}

// checkHost names what the machine lacks, and what installs it.
func (n *Node) checkHost() error {
	// Cleanup unmounts and removes everything under Dir.
	if d := n.opts.Dir; d != filepath.Clean(d) || !strings.HasPrefix(d, "/tmp/") {
		return fmt.Errorf("the node's Dir %q must be a clean path below /tmp", d)
	}
	if os.Geteuid() != 0 {
		return errors.New("a real node needs root: it makes a network namespace, cgroups and mounts")
	}
	var missing []string
	for _, b := range []string{"kube-apiserver", "etcd", "kube-controller-manager", "kube-scheduler", "kubelet",
		"kube-proxy", "containerd", "containerd-shim-runc-v2", "ctr"} {
		if _, err := os.Stat(filepath.Join(n.opts.Bin, b)); err != nil {
			missing = append(missing, "bin/"+b+" (make tools)")
		}
	}
	for _, f := range []string{n.opts.Runc, filepath.Join(n.opts.CNIBinDir, "bridge"), filepath.Join(n.opts.CNIBinDir, "host-local")} {
		if _, err := os.Stat(f); err != nil {
			missing = append(missing, f+" (make test-deps)")
		}
	}
	for _, c := range []string{"ip", "nsenter", "iptables"} {
		if _, err := exec.LookPath(c); err != nil {
			missing = append(missing, c+" (make test-deps)")
		}
	}
	for _, img := range n.opts.Images {
		if _, err := os.Stat(img); err != nil {
			missing = append(missing, img+" (make node-images)")
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("a real node needs: %s", strings.Join(missing, ", "))
	}
	return nil
}

// lockDir keeps a second node (another test package, a bench) from
// using the same namespace and state while this one runs; it waits for
// the other node as long as ctx allows.
func lockDir(ctx context.Context, file string) (*os.File, error) {
	f, err := os.OpenFile(file, os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, err
	}
	for {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if err == nil {
			return f, nil
		}
		if !errors.Is(err, syscall.EWOULDBLOCK) {
			f.Close()
			return nil, err
		}
		select {
		case <-ctx.Done():
			f.Close()
			return nil, fmt.Errorf("another node holds %s: %w", file, ctx.Err())
		case <-time.After(500 * time.Millisecond):
		}
	}
}

// cleanup undoes whatever a node that was killed left behind.
func (n *Node) cleanup() error {
	if err := killCgroup(); err != nil {
		return err
	}
	errs := []error{unmountUnder(n.opts.Dir)}
	teardownNetwork()
	removeCgroups()
	errs = append(errs, restoreSysctls(n.path("sysctl.orig")))
	if err := errors.Join(errs...); err != nil {
		return err
	}
	return os.RemoveAll(n.opts.Dir)
}

func (n *Node) prepare() error {
	if err := os.MkdirAll(n.path("logs"), 0o755); err != nil {
		return err
	}
	if err := saveSysctls(n.path("sysctl.orig")); err != nil {
		return err
	}
	var err error
	if n.pki, err = newPKI(n.path("pki")); err != nil {
		return err
	}
	issues := []struct {
		name, user string
		groups     []string
		hosts      []string
	}{
		{"apiserver", "kube-apiserver", nil, []string{NodeIP, ServiceIP, "127.0.0.1", "localhost", "kubernetes",
			"kubernetes.default", "kubernetes.default.svc", "kubernetes.default.svc.cluster.local"}},
		{"admin", "krt-node-admin", []string{"system:masters"}, nil},
		{"kubelet", "system:node:" + Name, []string{"system:nodes"}, nil},
		{"apiserver-kubelet-client", "kube-apiserver-kubelet-client", []string{"system:masters"}, nil},
	}
	for _, i := range issues {
		if err := n.pki.issue(i.name, i.user, i.groups, i.hosts...); err != nil {
			return err
		}
	}
	n.Kubeconfig = n.path("admin.kubeconfig")
	if err := n.pki.kubeconfig(n.Kubeconfig, "admin", Server()); err != nil {
		return err
	}
	if err := n.pki.kubeconfig(n.path("kubelet.kubeconfig"), "kubelet", Server()); err != nil {
		return err
	}
	if err := n.writeConfigs(); err != nil {
		return err
	}
	if err := setupNetwork(); err != nil {
		return err
	}
	return makeCgroups()
}

// start runs bin inside the node's network namespace and its system
// cgroup, so a later cleanup finds it even if this process is killed.
func (n *Node) start(name, bin string, args ...string) error {
	cmd := joinSystemCgroup() + "exec nsenter --net=/run/netns/" + netnsName + " --mount=" + n.mountNS + " -- " +
		shellQuote(append([]string{bin}, args...))
	p, err := startProcess(n.path("logs"), name, cmd)
	if err != nil {
		return err
	}
	n.procs = append(n.procs, p)
	return nil
}

// startProcess runs a shell command line as a process of the node.
func startProcess(logs, name, cmd string) (*kubetest.Process, error) {
	return kubetest.StartProcess(logs, name, "sh", "-c", cmd)
}

func shellQuote(args []string) string {
	q := make([]string, len(args))
	for i, a := range args {
		q[i] = "'" + strings.ReplaceAll(a, "'", `'\''`) + "'"
	}
	return strings.Join(q, " ")
}

// process finds a started process by name.
func (n *Node) process(name string) *kubetest.Process {
	for _, p := range n.procs {
		if p.Name == name {
			return p
		}
	}
	return nil
}

// poll calls cond until it holds, the process named dies, or a minute
// passes; the error carries the process's last lines.
func (n *Node) poll(ctx context.Context, what, proc string, timeout time.Duration, cond func() error) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var last error
	for {
		if last = cond(); last == nil {
			return nil
		}
		if p := n.process(proc); p != nil && p.Exited() {
			return fmt.Errorf("%s exited while waiting for %s:\n%s", proc, what, p.Tail(20))
		}
		select {
		case <-ctx.Done():
			tail := ""
			if p := n.process(proc); p != nil {
				tail = p.Tail(20)
			}
			return fmt.Errorf("%s not ready after %s (%v):\n%s", what, timeout, last, tail)
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// Stop stops every process of the node, kills its pods, and undoes its
// changes to the host; the state directory stays for its logs, and the
// next Start removes it. A test binary killed outright skips it: then the
// next Start cleans up.
func (n *Node) Stop() { n.stopOnce.Do(n.stop) }

func (n *Node) stop() {
	for i := len(n.procs) - 1; i >= 0; i-- {
		if n.procs[i].Name != "containerd" {
			n.procs[i].Stop()
		}
	}
	killed := killCgroup()
	if killed != nil {
		n.logf("node: %v", killed)
	}
	for _, p := range n.procs {
		p.Kill()
	}
	n.procs = nil
	unmounted := unmountUnder(n.opts.Dir)
	if unmounted != nil {
		n.logf("node: %v", unmounted)
	}
	teardownNetwork()
	removeCgroups()
	if err := restoreSysctls(n.path("sysctl.orig")); err != nil {
		n.logf("node: restoring sysctls: %v", err)
	}
	// Removing state under a live mount would reach into a volume.
	if killed == nil && unmounted == nil {
		_ = os.RemoveAll(n.path("containerd"))
		_ = os.RemoveAll(n.path("kubelet"))
	}
	if n.lock != nil {
		n.lock.Close()
		n.lock = nil
	}
}

// nodeReady reports the node's Ready condition.
func (n *Node) nodeReady(ctx context.Context) error {
	node, err := n.Clientset.CoreV1().Nodes().Get(ctx, Name, metav1.GetOptions{})
	if err != nil {
		return err
	}
	for _, c := range node.Status.Conditions {
		if c.Type == corev1.NodeReady {
			if c.Status == corev1.ConditionTrue {
				return nil
			}
			return fmt.Errorf("node %s: %s", c.Reason, c.Message)
		}
	}
	return errors.New("node has no Ready condition yet")
}

func (n *Node) loadClient() error {
	cfg, err := clientcmd.BuildConfigFromFlags("", n.Kubeconfig)
	if err != nil {
		return err
	}
	n.Config = cfg
	n.Clientset, err = kubernetes.NewForConfig(cfg)
	return err
}
