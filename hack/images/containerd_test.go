package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// containerdBinaries finds containerd and ctr where `make tools` puts them.
func containerdBinaries(t *testing.T) (containerd, ctr string) {
	t.Helper()
	dir := os.Getenv("KUBEBUILDER_ASSETS")
	if dir == "" {
		root, err := goModRoot()
		if err != nil {
			t.Fatal(err)
		}
		dir = filepath.Join(root, "bin")
	}
	containerd, ctr = filepath.Join(dir, "containerd"), filepath.Join(dir, "ctr")
	for _, p := range []string{containerd, ctr} {
		if _, err := os.Stat(p); err != nil {
			t.Skipf("%s is missing (make tools builds it): %v", p, err)
		}
	}
	return containerd, ctr
}

// startContainerd runs a private containerd, its root, state and socket
// under dir, without CRI, and returns its socket.
func startContainerd(t *testing.T, containerd, ctr, dir string) string {
	t.Helper()
	sock := filepath.Join(dir, "containerd.sock")
	config := fmt.Sprintf(`version = 3
root = %q
state = %q
disabled_plugins = ["io.containerd.grpc.v1.cri", "io.containerd.cri.v1.images", "io.containerd.cri.v1.runtime"]
[grpc]
  address = %q
[ttrpc]
  address = %q
`, filepath.Join(dir, "root"), filepath.Join(dir, "state"), sock, sock+".ttrpc")
	cfgPath := filepath.Join(dir, "config.toml")
	if err := os.WriteFile(cfgPath, []byte(config), 0o600); err != nil {
		t.Fatal(err)
	}
	logFile, err := os.Create(filepath.Join(dir, "containerd.log"))
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(containerd, "--config", cfgPath)
	// The runc shim sits beside containerd.
	cmd.Env = append(os.Environ(), "PATH="+filepath.Dir(containerd)+":"+os.Getenv("PATH"))
	cmd.Stdout, cmd.Stderr = logFile, logFile
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
		logFile.Close()
	})
	for deadline := time.Now().Add(60 * time.Second); ; time.Sleep(200 * time.Millisecond) {
		if exec.Command(ctr, "-a", sock, "version").Run() == nil {
			return sock
		}
		if time.Now().After(deadline) {
			log, _ := os.ReadFile(logFile.Name())
			t.Fatalf("containerd did not answer on %s within 60s; its log:\n%s", sock, log)
		}
	}
}

// The tarballs are what a node's containerd imports: `ctr images import`
// names each image from the index's annotation and unpacks its layers.
func TestContainerdImportsTheTarballs(t *testing.T) {
	if os.Getuid() != 0 {
		t.Skip("needs root, to start containerd and unpack layers")
	}
	containerd, ctr := containerdBinaries(t)
	out := builtKrt(t)
	dirImage := filepath.Join(t.TempDir(), "tool.tar")
	if err := runQuiet("dir", "-dir", rootfs(t), "-tag", "local/tool:1", "-out", dirImage); err != nil {
		t.Fatal(err)
	}
	sock := startContainerd(t, containerd, ctr, t.TempDir())
	for _, f := range []string{filepath.Join(out, "krt-controller.tar"), filepath.Join(out, "krt-runtimed.tar"), dirImage} {
		if b, err := exec.Command(ctr, "-a", sock, "-n", "k8s.io", "images", "import", f).CombinedOutput(); err != nil {
			t.Fatalf("ctr images import %s: %v\n%s", f, err, b)
		}
	}
	b, err := exec.Command(ctr, "-a", sock, "-n", "k8s.io", "images", "ls", "-q").CombinedOutput()
	if err != nil {
		t.Fatalf("ctr images ls: %v\n%s", err, b)
	}
	names := strings.Fields(string(b))
	for _, want := range []string{"example.test/krt/krt-controller:t1", "example.test/krt/krt-runtimed:t1", "docker.io/local/tool:1"} {
		found := false
		for _, n := range names {
			found = found || n == want
		}
		if !found {
			t.Errorf("containerd has %v, want %s among them", names, want)
		}
	}

	// What a runtime pod's init container does, as the image's user:
	// krt-runtime, static, runs in an image with nothing else.
	runc, err := exec.LookPath("runc")
	if err != nil {
		t.Skip("runc is not installed (Debian's runc package): the images were not run")
	}
	run := func(image, id string, args ...string) *exec.Cmd {
		// A cgroup of its own, at the top, that runc removes with the
		// container: ctr's default, under k8s.io/, would leave k8s.io.
		cgroup := fmt.Sprintf("/krt-images-test-%d-%s", os.Getpid(), id)
		return exec.Command(ctr, append([]string{"-a", sock, "-n", "k8s.io", "run", "--rm", "--runc-binary", runc,
			"--cgroup", cgroup, image, id}, args...)...)
	}
	install := run("example.test/krt/krt-runtimed:t1", "krt-install", "/krt-runtime", "--install", "/tmp/krt-runtime")
	if b, err := install.CombinedOutput(); err != nil {
		t.Errorf("ctr run krt-runtimed /krt-runtime --install: %v\n%s", err, b)
	}
	// And what someone who took over the controller would try first.
	sh := run("example.test/krt/krt-controller:t1", "krt-sh", "/bin/sh", "-c", "id")
	if b, err := sh.CombinedOutput(); err == nil || !strings.Contains(string(b), "/bin/sh: no such file") {
		t.Errorf("ctr run krt-controller /bin/sh: got %v, want no such file\n%s", err, b)
	}
}
