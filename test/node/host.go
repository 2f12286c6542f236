package node

import (
	"bufio"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// The host side of the node: everything the node changes outside its own
// state directory, and how each change is undone. The node's network
// lives in its own namespace, so its bridge, routes, iptables rules and
// per-namespace sysctls vanish with it; what does not (the kubelet's
// global sysctls, its cgroups, its mounts) is recorded and restored.

const (
	netnsName = "krt-node"
	hostVeth  = "krtn-host"
	nodeVeth  = "krtn-node"
	// 198.51.100.0/24 is TEST-NET-2 (RFC 5737): routed nowhere, so
	// nothing the node sends can leave the machine by mistake. (Our VMs
	// themselves sit in TEST-NET-1.)
	hostIP = "198.51.100.1"
	// NodeIP is the node's address: the API server, the kubelet and
	// kube-proxy listen on it inside the namespace, and the tests reach
	// it over the veth pair.
	NodeIP = "198.51.100.2"
	// cgroupRoot holds the kubelet's pods (its cgroupRoot) and, under
	// system/, containerd and its shims, so one walk finds every process
	// the node started.
	cgroupRoot = "krt-node"
)

// GlobalSysctls are the settings the kubelet writes that are not
// per-network-namespace (protectKernelDefaults would make it fail
// instead). They are saved before the first start and put back by Stop,
// or by the next start after a crash.
var GlobalSysctls = []string{"vm/overcommit_memory", "vm/panic_on_oom", "kernel/panic", "kernel/panic_on_oops"}

func run(name string, args ...string) error {
	out, err := exec.Command(name, args...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("%s %s: %v: %s", name, strings.Join(args, " "), err, strings.TrimSpace(string(out)))
	}
	return nil
}

// setupNetwork makes the namespace and the veth pair between it and the
// host. The namespace's default route is a blackhole: pods reach the
// node, services and each other, and nothing else.
func setupNetwork() error {
	if err := checkAddressesFree(); err != nil {
		return err
	}
	steps := [][]string{
		{"ip", "netns", "add", netnsName},
		{"ip", "link", "add", hostVeth, "type", "veth", "peer", "name", nodeVeth},
		{"ip", "link", "set", nodeVeth, "netns", netnsName},
		{"ip", "addr", "add", hostIP + "/30", "dev", hostVeth},
		{"ip", "link", "set", hostVeth, "up"},
		{"ip", "-n", netnsName, "link", "set", "lo", "up"},
		{"ip", "-n", netnsName, "addr", "add", NodeIP + "/30", "dev", nodeVeth},
		{"ip", "-n", netnsName, "link", "set", nodeVeth, "up"},
		{"ip", "-n", netnsName, "route", "add", "blackhole", "default"},
	}
	for _, s := range steps {
		if err := run(s[0], s[1:]...); err != nil {
			return err
		}
	}
	return nil
}

// checkAddressesFree refuses to start where the host already uses the
// node's link addresses: its traffic would go to the wrong place.
func checkAddressesFree() error {
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		return err
	}
	for _, a := range addrs {
		if ipnet, ok := a.(*net.IPNet); ok && (ipnet.Contains(net.ParseIP(hostIP)) || ipnet.Contains(net.ParseIP(NodeIP))) {
			return fmt.Errorf("the host already has %s, which overlaps the node's link %s/30: test/node cannot run here", ipnet, hostIP)
		}
	}
	return nil
}

// teardownNetwork deletes the namespace, which takes the node's end of
// the veth pair (and with it the host's), its bridge and its rules.
func teardownNetwork() {
	_ = run("ip", "netns", "delete", netnsName)
	_ = run("ip", "link", "delete", hostVeth)
}

func sysctlPath(key string) string { return filepath.Join("/proc/sys", key) }

// saveSysctls records the host's values once; a file left by a crashed
// run is the truth, since the values now may be the kubelet's.
func saveSysctls(file string) error {
	if _, err := os.Stat(file); err == nil {
		return nil
	}
	var b strings.Builder
	for _, key := range GlobalSysctls {
		v, err := os.ReadFile(sysctlPath(key))
		if err != nil {
			return err
		}
		fmt.Fprintf(&b, "%s=%s\n", key, strings.TrimSpace(string(v)))
	}
	return os.WriteFile(file, []byte(b.String()), 0o600)
}

func restoreSysctls(file string) error {
	f, err := os.Open(file)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	} else if err != nil {
		return err
	}
	defer f.Close()
	var errs []error
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		key, val, ok := strings.Cut(sc.Text(), "=")
		if ok {
			errs = append(errs, os.WriteFile(sysctlPath(key), []byte(val), 0o644))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return err
	}
	return os.Remove(file)
}

// cgroupHierarchies are the mounted cgroup v1 hierarchies (or the one v2
// tree): the kubelet's cgroupRoot must exist in each.
func cgroupHierarchies() []string {
	if _, err := os.Stat("/sys/fs/cgroup/cgroup.controllers"); err == nil {
		return []string{"/sys/fs/cgroup"}
	}
	entries, _ := os.ReadDir("/sys/fs/cgroup")
	var dirs []string
	for _, e := range entries {
		p := filepath.Join("/sys/fs/cgroup", e.Name())
		if fi, err := os.Lstat(p); err == nil && fi.IsDir() && e.Name() != "unified" {
			dirs = append(dirs, p)
		}
	}
	return dirs
}

// makeCgroups creates cgroupRoot/system in every hierarchy; cpuset needs
// its cpus and mems copied down before a process may join.
func makeCgroups() error {
	for _, h := range cgroupHierarchies() {
		for _, dir := range []string{filepath.Join(h, cgroupRoot), filepath.Join(h, cgroupRoot, "system")} {
			if err := os.MkdirAll(dir, 0o755); err != nil {
				return err
			}
			if filepath.Base(h) == "cpuset" {
				for _, f := range []string{"cpuset.cpus", "cpuset.mems"} {
					v, _ := os.ReadFile(filepath.Join(filepath.Dir(dir), f))
					_ = os.WriteFile(filepath.Join(dir, f), v, 0o644)
				}
			}
		}
	}
	return nil
}

// joinSystemCgroup is a shell prefix that moves the shell into the
// system cgroup of every hierarchy before it execs the real command, so
// the process and whatever it starts are found by killCgroup.
func joinSystemCgroup() string {
	var b strings.Builder
	for _, h := range cgroupHierarchies() {
		fmt.Fprintf(&b, "echo $$ > %s && ", filepath.Join(h, cgroupRoot, "system", "cgroup.procs"))
	}
	return b.String()
}

// cgroupPIDs lists every process under cgroupRoot, in the pids
// hierarchy (or v2's single tree).
func cgroupPIDs() []int {
	root := filepath.Join("/sys/fs/cgroup", cgroupRoot)
	if _, err := os.Stat("/sys/fs/cgroup/pids"); err == nil {
		root = filepath.Join("/sys/fs/cgroup/pids", cgroupRoot)
	}
	var pids []int
	_ = filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() || d.Name() != "cgroup.procs" {
			return nil
		}
		data, _ := os.ReadFile(p)
		for _, f := range strings.Fields(string(data)) {
			if pid, err := strconv.Atoi(f); err == nil {
				pids = append(pids, pid)
			}
		}
		return nil
	})
	return pids
}

// killCgroup kills every process the node started, pods included, and
// waits until they are gone.
func killCgroup() error {
	deadline := time.Now().Add(30 * time.Second)
	for {
		pids := cgroupPIDs()
		if len(pids) == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("processes %v in cgroup %s survive SIGKILL", pids, cgroupRoot)
		}
		for _, pid := range pids {
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// removeCgroups removes cgroupRoot's tree, deepest first, in every
// hierarchy; it runs after killCgroup, when the cgroups are empty.
func removeCgroups() {
	for _, h := range cgroupHierarchies() {
		var dirs []string
		_ = filepath.WalkDir(filepath.Join(h, cgroupRoot), func(p string, d os.DirEntry, err error) error {
			if err == nil && d.IsDir() {
				dirs = append(dirs, p)
			}
			return nil
		})
		slices.Reverse(dirs)
		for _, d := range dirs {
			_ = syscall.Rmdir(d)
		}
	}
}

// unmountUnder unmounts everything mounted below dir (volumes, rootfs
// overlays, pod network namespaces), deepest first.
func unmountUnder(dir string) error {
	data, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return err
	}
	var targets []string
	for _, line := range strings.Split(string(data), "\n") {
		f := strings.Fields(line)
		if len(f) > 4 && (f[4] == dir || strings.HasPrefix(f[4], dir+"/")) {
			targets = append(targets, f[4])
		}
	}
	slices.SortFunc(targets, func(a, b string) int { return len(b) - len(a) })
	var errs []error
	for _, t := range targets {
		if err := syscall.Unmount(t, syscall.MNT_DETACH); err != nil && !errors.Is(err, syscall.EINVAL) && !errors.Is(err, syscall.ENOENT) {
			errs = append(errs, fmt.Errorf("unmount %s: %w", t, err))
		}
	}
	return errors.Join(errs...)
}
