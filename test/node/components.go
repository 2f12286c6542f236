package node

import (
	"context"
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

func (n *Node) bin(name string) string { return filepath.Join(n.opts.Bin, name) }

// ctr runs containerd's CLI in the namespace the kubelet's images live in.
func (n *Node) ctr(ctx context.Context, args ...string) (string, error) {
	args = append([]string{"--address", n.ContainerdSocket(), "--namespace", "k8s.io"}, args...)
	out, err := exec.CommandContext(ctx, n.bin("ctr"), args...).CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("ctr %s: %v: %s", strings.Join(args[4:], " "), err, strings.TrimSpace(string(out)))
	}
	return string(out), nil
}

// startRuntime starts containerd and imports the images, so that no pod
// pulls from a registry (the node has no way out).
func (n *Node) startRuntime(ctx context.Context) error {
	// containerd finds its shim on PATH.
	if err := n.start("containerd", "env", "PATH="+n.opts.Bin+":/usr/sbin:/usr/bin:/sbin:/bin",
		n.bin("containerd"), "--config", n.path("containerd.toml")); err != nil {
		return err
	}
	if err := n.poll(ctx, "containerd", "containerd", time.Minute, func() error {
		_, err := n.ctr(ctx, "version")
		return err
	}); err != nil {
		return err
	}
	for _, img := range n.opts.Images {
		t := time.Now()
		if _, err := n.ctr(ctx, "images", "import", img); err != nil {
			return err
		}
		n.logf("node: imported %s in %s", filepath.Base(img), time.Since(t).Round(10*time.Millisecond))
	}
	return nil
}

func (n *Node) startControlPlane(ctx context.Context) error {
	p := n.pki.path
	if err := n.start("etcd", n.bin("etcd"), "--data-dir", n.path("etcd"),
		"--listen-client-urls", "http://127.0.0.1:2379", "--advertise-client-urls", "http://127.0.0.1:2379",
		"--listen-peer-urls", "http://127.0.0.1:2380", "--initial-advertise-peer-urls", "http://127.0.0.1:2380",
		"--initial-cluster", "default=http://127.0.0.1:2380", "--log-level", "warn"); err != nil {
		return err
	}
	if err := n.start("kube-apiserver", n.bin("kube-apiserver"), "--etcd-servers", "http://127.0.0.1:2379",
		"--secure-port", fmt.Sprint(apiserverPort), "--advertise-address", NodeIP,
		"--tls-cert-file", p("apiserver.crt"), "--tls-private-key-file", p("apiserver.key"),
		"--client-ca-file", p("ca.crt"), "--authorization-mode", "Node,RBAC",
		"--service-cluster-ip-range", serviceCIDR, "--service-account-issuer", "https://kubernetes.default.svc",
		"--service-account-key-file", p("sa.pub"), "--service-account-signing-key-file", p("sa.key"),
		"--kubelet-client-certificate", p("apiserver-kubelet-client.crt"), "--kubelet-client-key", p("apiserver-kubelet-client.key"),
		"--kubelet-preferred-address-types", "InternalIP", "--profiling=false"); err != nil {
		return err
	}
	if err := n.loadClient(); err != nil {
		return err
	}
	if err := n.poll(ctx, "kube-apiserver", "kube-apiserver", 3*time.Minute, func() error {
		return n.Clientset.RESTClient().Get().AbsPath("/readyz").Do(ctx).Error()
	}); err != nil {
		return err
	}
	admin := n.Kubeconfig
	if err := n.start("kube-controller-manager", n.bin("kube-controller-manager"), "--kubeconfig", admin,
		"--authentication-kubeconfig", admin, "--authorization-kubeconfig", admin,
		"--secure-port", "10257", "--bind-address", "127.0.0.1", "--leader-elect=false",
		"--service-account-private-key-file", p("sa.key"), "--root-ca-file", p("ca.crt"),
		"--use-service-account-credentials", "--controllers", "*,-nodeipam"); err != nil {
		return err
	}
	return n.start("kube-scheduler", n.bin("kube-scheduler"), "--kubeconfig", admin,
		"--authentication-kubeconfig", admin, "--authorization-kubeconfig", admin,
		"--secure-port", "10259", "--bind-address", "127.0.0.1", "--leader-elect=false")
}

// startKubelet starts the kubelet and kube-proxy and waits for the node
// to be Ready (its CNI configured, its runtime answering).
func (n *Node) startKubelet(ctx context.Context) error {
	if err := n.start("kubelet", "env", "PATH="+n.opts.Bin+":/usr/sbin:/usr/bin:/sbin:/bin",
		n.bin("kubelet"), "--config", n.path("kubelet.yaml"),
		"--kubeconfig", n.path("kubelet.kubeconfig"), "--root-dir", n.path("kubelet"),
		"--node-ip", NodeIP, "--hostname-override", Name, "--v", "1"); err != nil {
		return err
	}
	// kube-proxy (iptables mode) maps the in-cluster API address to the
	// node. The conntrack limits are global to the host; leave them.
	if err := n.start("kube-proxy", n.bin("kube-proxy"), "--kubeconfig", n.Kubeconfig,
		"--hostname-override", Name, "--cluster-cidr", podCIDR, "--proxy-mode", "iptables",
		"--metrics-bind-address", "127.0.0.1:10249", "--healthz-bind-address", "127.0.0.1:10256",
		"--conntrack-max-per-core", "0"); err != nil {
		return err
	}
	return n.poll(ctx, "node "+Name, "kubelet", 3*time.Minute, func() error { return n.nodeReady(ctx) })
}

// KillContainer kills a container through containerd, as a crash or the
// OOM killer would, behind the kubelet's back.
func (n *Node) KillContainer(ctx context.Context, id string) error {
	_, err := n.ctr(ctx, "tasks", "kill", "--signal", "SIGKILL", id)
	return err
}
