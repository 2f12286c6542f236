package e2e

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	krtv1 "krt.dev/krt/api/v1alpha1"
	runtimectl "krt.dev/krt/controllers/runtime"
)

// TestRuntimePodProcessesRunTheirPodSpec checks that the local pool runs a
// runtime pod as its Pod object says: each container's process has the
// container's command line, with the pod's volume in the pod's directory,
// and the runtime container runs the copy of krt-runtime that the init
// container installed there.
func TestRuntimePodProcessesRunTheirPodSpec(t *testing.T) {
	ns := setupRuntime(t, "spec", 1, 1)
	info := podsOf(ns, "spec")[0]
	pod := &corev1.Pod{}
	if err := env.Client.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: info.Name}, pod); err != nil {
		t.Fatal(err)
	}
	// The container's view of the pod, on this machine: the shared volume
	// is in the pod's directory, and the log and metrics servers listen on
	// loopback.
	logsAddress := fmt.Sprintf(":%d", krtv1.LogsPort(pod))
	metricsAddress := fmt.Sprintf(":%d", krtv1.MetricsPort(pod))
	local := func(arg string) string {
		if arg == logsAddress || arg == metricsAddress {
			return "127.0.0.1" + arg
		}
		return strings.ReplaceAll(arg, "/krt/", info.Dir+"/krt/")
	}
	pids := map[string]int{runtimectl.RuntimeContainer: info.ServerPID, runtimectl.RuntimedContainer: info.RuntimedPID}
	for _, c := range pod.Spec.Containers {
		pid := pids[c.Name]
		if pid == 0 {
			t.Fatalf("container %s has no process", c.Name)
		}
		data, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
		if err != nil {
			t.Fatal(err)
		}
		argv := strings.Split(strings.TrimSuffix(string(data), "\x00"), "\x00")
		spec := append(append([]string{}, c.Command...), c.Args...)
		if len(argv) < len(spec) {
			t.Fatalf("container %s runs %q, shorter than its spec %q", c.Name, argv, spec)
		}
		for i, arg := range spec[1:] {
			if want := local(arg); argv[i+1] != want {
				t.Errorf("container %s: argument %d is %q, want %q from the pod's %q", c.Name, i+1, argv[i+1], want, arg)
			}
		}
	}
	exe, err := os.Readlink(fmt.Sprintf("/proc/%d/exe", info.ServerPID))
	if err != nil {
		t.Fatal(err)
	}
	if installed := local(runtimectl.RuntimeBinary); exe != installed {
		t.Fatalf("the runtime container runs %s, want the copy the init container installed at %s", exe, installed)
	}
	if !sameFile(t, exe, bins.KrtRuntime) {
		t.Fatalf("%s is not a copy of %s", exe, bins.KrtRuntime)
	}
}

// TestKrtRuntimeInstallsAndProbes runs what a runtime pod runs around the
// Runtime Server: `krt-runtime --install` (the init container) and
// `krt-runtime --probe` (the readiness probe), against a server started
// from the installed copy.
func TestKrtRuntimeInstallsAndProbes(t *testing.T) {
	dir := t.TempDir()
	installed := filepath.Join(dir, "bin", "krt-runtime")
	if out, err := exec.Command(bins.KrtRuntime, "--install", installed).CombinedOutput(); err != nil {
		t.Fatalf("krt-runtime --install: %v\n%s", err, out)
	}
	if !sameFile(t, installed, bins.KrtRuntime) {
		t.Fatalf("--install wrote %s, which is not a copy of krt-runtime", installed)
	}
	// The socket's directory does not exist yet, as on a fresh emptyDir.
	sock := "unix://" + filepath.Join(dir, "run", "runtime.sock")
	probe := func() (string, error) {
		out, err := exec.Command(installed, "--probe", sock).CombinedOutput()
		return string(out), err
	}
	if out, err := probe(); err == nil {
		t.Fatalf("--probe passed with no server: %s", out)
	}
	server := exec.Command(installed, "--listen", sock, "--work-root", filepath.Join(dir, "work"))
	var stderr bytes.Buffer
	server.Stderr = &stderr
	if err := server.Start(); err != nil {
		t.Fatal(err)
	}
	var waitErr error
	exited := make(chan struct{})
	go func() { waitErr = server.Wait(); close(exited) }()
	defer func() {
		_ = server.Process.Kill()
		<-exited
	}()
	eventually(t, time.Minute, "--probe to pass once the server serves", func() bool {
		select {
		case <-exited:
			t.Fatalf("the installed krt-runtime exited: %v\n%s", waitErr, stderr.String())
		default:
		}
		_, err := probe()
		return err == nil
	})
	if err := server.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	<-exited
	if waitErr != nil {
		t.Fatalf("krt-runtime after SIGTERM: %v\n%s", waitErr, stderr.String())
	}
	if out, err := probe(); err == nil {
		t.Fatalf("--probe passed after the server stopped: %s", out)
	}
}

func sameFile(t *testing.T, a, b string) bool {
	t.Helper()
	da, err := os.ReadFile(a)
	if err != nil {
		t.Fatal(err)
	}
	db, err := os.ReadFile(b)
	if err != nil {
		t.Fatal(err)
	}
	return bytes.Equal(da, db)
}
