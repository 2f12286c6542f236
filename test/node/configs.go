package node

import (
	"fmt"
	"os"
	"path/filepath"
)

const (
	podCIDR     = "10.88.0.0/24"
	serviceCIDR = "10.96.0.0/16"
	// ServiceIP is the in-cluster API address kube-proxy maps to NodeIP.
	ServiceIP     = "10.96.0.1"
	apiserverPort = 16443
	kubeletPort   = 10250
	// PauseImage is the pod sandbox image; containerd is told it is
	// pinned, so it never tries to pull it.
	PauseImage = "docker.io/local/pause:1"
)

// writeConfigs writes containerd's, the kubelet's and CNI's
// configuration into the state directory: every path either names the
// state directory or a read-only host file, so nothing is written
// outside it.
func (n *Node) writeConfigs() error {
	files := map[string]string{
		n.path("containerd.toml"): n.containerdConfig(),
		n.path("kubelet.yaml"):    n.kubeletConfig(),
		n.path("cni/net.d/10-krt-node.conflist"): fmt.Sprintf(`{
  "cniVersion": "0.4.0",
  "name": "krt-node",
  "plugins": [
    {"type": "bridge", "bridge": "cni0", "isGateway": true, "ipMasq": true, "hairpinMode": true,
     "ipam": {"type": "host-local", "ranges": [[{"subnet": %q}]], "routes": [{"dst": "0.0.0.0/0"}],
              "dataDir": %q}},
    {"type": "portmap", "capabilities": {"portMappings": true}}
  ]
}
`, podCIDR, n.path("cni/ipam")),
		// No name servers: pods have no DNS, and nothing to ask outside.
		n.path("resolv.conf"): "",
	}
	for file, content := range files {
		if err := os.MkdirAll(filepath.Dir(file), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(file, []byte(content), 0o644); err != nil {
			return err
		}
	}
	return nil
}

// containerdConfig: restrict_oom_score_adj because root on our VMs lacks
// CAP_SYS_RESOURCE, and runc then fails every sandbox on pause's -998.
// Pod network namespaces, runc's state and everything else stay in the
// state directory, and NRI, which would open a socket in /var/run, is off.
func (n *Node) containerdConfig() string {
	return fmt.Sprintf(`version = 3
root = %[1]q
state = %[2]q
[grpc]
  address = %[3]q
[ttrpc]
  address = %[4]q
[plugins."io.containerd.cri.v1.images"]
  snapshotter = "overlayfs"
  [plugins."io.containerd.cri.v1.images".pinned_images]
    sandbox = %[5]q
[plugins."io.containerd.cri.v1.runtime"]
  enable_selinux = false
  restrict_oom_score_adj = true
  netns_mounts_under_state_dir = true
  [plugins."io.containerd.cri.v1.runtime".containerd]
    default_runtime_name = "runc"
    [plugins."io.containerd.cri.v1.runtime".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.cri.v1.runtime".containerd.runtimes.runc.options]
        SystemdCgroup = false
        BinaryName = %[6]q
        Root = %[9]q
  [plugins."io.containerd.cri.v1.runtime".cni]
    bin_dirs = [%[7]q]
    conf_dir = %[8]q
[plugins."io.containerd.grpc.v1.cri"]
  stream_server_address = "127.0.0.1"
[plugins."io.containerd.nri.v1.nri"]
  disable = true
`, n.path("containerd/root"), n.path("containerd/state"), n.ContainerdSocket(), n.path("containerd/ttrpc.sock"),
		PauseImage, n.opts.Runc, n.opts.CNIBinDir, n.path("cni/net.d"), n.path("containerd/runc"))
}

// kubeletConfig: cgroup v1 is allowed (our VMs run it), the kubelet's
// own API takes only the API server's certificate and asks the API
// server who may do what, and every path is in the state directory.
func (n *Node) kubeletConfig() string {
	return fmt.Sprintf(`apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
failCgroupV1: false
cgroupDriver: cgroupfs
cgroupRoot: /%[1]s
cgroupsPerQOS: true
failSwapOn: false
containerRuntimeEndpoint: unix://%[2]s
address: %[3]s
port: %[4]d
healthzBindAddress: 127.0.0.1
healthzPort: 10248
readOnlyPort: 0
authentication:
  anonymous: {enabled: false}
  webhook: {enabled: true}
  x509: {clientCAFile: %[5]q}
authorization: {mode: Webhook}
podLogsDir: %[6]q
volumePluginDir: %[7]q
podCIDR: %[8]s
resolvConf: %[9]q
evictionHard: {memory.available: "100Mi", nodefs.available: "1%%", imagefs.available: "1%%", nodefs.inodesFree: "1%%"}
imageGCHighThresholdPercent: 100
imageGCLowThresholdPercent: 99
serializeImagePulls: false
shutdownGracePeriod: 0s
`, cgroupRoot, n.ContainerdSocket(), NodeIP, kubeletPort, n.pki.path("ca.crt"), n.path("pod-logs"),
		n.path("volume-plugins"), podCIDR, n.path("resolv.conf"))
}
