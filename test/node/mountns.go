package node

import (
	"context"
	"fmt"
	"os"
	"strings"
	"time"
)

// The node's mount namespace. The kubelet, containerd, its shims and
// libcni write to fixed host paths whatever their flags say: the kubelet's
// device plugin socket in /var/lib/kubelet, libcni's result cache in
// /var/lib/cni, the shims' sockets in /run/containerd/s, the kubelet's
// links in /var/log/containers. So the node's processes share one private
// mount namespace, held by a sleeping process, where /run, /var/lib and
// /var/log are empty tmpfs: those writes, and every volume and rootfs
// mount, stay in it and vanish with its last process, crash or not.

// privateDirs are the host directories the namespace hides behind tmpfs.
var privateDirs = []string{"/run", "/var/lib", "/var/log"}

// startMountNamespace starts the holder and waits until its tmpfs mounts
// are in place.
func (n *Node) startMountNamespace(ctx context.Context) error {
	var script strings.Builder
	for _, d := range privateDirs {
		fmt.Fprintf(&script, "mount -t tmpfs -o mode=0755 krt-node %s && ", d)
	}
	script.WriteString("exec sleep infinity")
	// Without --fork, unshare and sh exec in turn: the holder keeps the
	// PID of the process started, and joins the system cgroup with it.
	cmd := joinSystemCgroup() + "exec unshare --mount --propagation private -- sh -c " + shellQuote([]string{script.String()})
	p, err := startProcess(n.path("logs"), "mount-namespace", cmd)
	if err != nil {
		return err
	}
	n.procs = append(n.procs, p)
	n.mountNS = fmt.Sprintf("/proc/%d/ns/mnt", p.PID())
	return n.poll(ctx, "the node's mount namespace", "mount-namespace", 30*time.Second, func() error {
		data, err := os.ReadFile(fmt.Sprintf("/proc/%d/mountinfo", p.PID()))
		if err != nil {
			return err
		}
		for _, d := range privateDirs {
			if !strings.Contains(string(data), " "+d+" ") {
				return fmt.Errorf("%s is not mounted yet", d)
			}
		}
		return nil
	})
}
