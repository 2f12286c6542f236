// Package crash checks that a real node (test/node) killed mid-flight,
// with a pod running, leaves nothing that the next start cannot clean up,
// and that a stop after that leaves the host as it was.
package crash

import (
	"bufio"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/utils/ptr"

	"krt.dev/krt/test/kubetest"
	"krt.dev/krt/test/node"
)

// dir is the node's state directory, as test/node's options give it.
var dir = node.KrtOptions("", "").Dir

// readSysctls reads the host's values; where an earlier node crashed,
// they are the ones it saved before the kubelet changed them.
func readSysctls(t *testing.T) map[string]string {
	t.Helper()
	m := map[string]string{}
	if saved, err := os.ReadFile(filepath.Join(dir, "sysctl.orig")); err == nil {
		for _, l := range strings.Split(strings.TrimSpace(string(saved)), "\n") {
			k, v, _ := strings.Cut(l, "=")
			m[k] = v
		}
		return m
	}
	for _, k := range node.GlobalSysctls {
		v, err := os.ReadFile(filepath.Join("/proc/sys", k))
		if err != nil {
			t.Fatal(err)
		}
		m[k] = strings.TrimSpace(string(v))
	}
	return m
}

func TestCrashedNodeIsCleanedUpByTheNextStart(t *testing.T) {
	root, err := kubetest.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	before, rulesBefore := readSysctls(t), iptablesRules(t)
	bin := filepath.Join(t.TempDir(), "nodeup")
	if out, err := exec.Command("go", "build", "-o", bin, filepath.Join(root, "test/node/nodeup")).CombinedOutput(); err != nil {
		t.Fatalf("go build nodeup: %v\n%s", err, out)
	}
	crashWithAPod(t, root, bin)
	if err := exec.Command("ip", "netns", "pids", "krt-node").Run(); err != nil {
		t.Fatalf("after the crash the node's namespace is gone already (%v): the test crashed nothing", err)
	}

	ctx := context.Background()
	opts := node.KrtOptions(root, "")
	opts.Images = opts.Images[:2]
	n, err := node.Start(ctx, opts)
	if err != nil {
		t.Fatalf("starting a node after a crash: %v", err)
	}
	pods, err := n.Clientset.CoreV1().Pods("default").List(ctx, metav1.ListOptions{})
	if err != nil || len(pods.Items) != 0 {
		t.Errorf("the new node has pods %v (%v), want a fresh cluster", pods, err)
	}
	n.Stop()

	if out, _ := exec.Command("ip", "netns", "list").Output(); strings.Contains(string(out), "krt-node") {
		t.Errorf("the node's network namespace survives Stop: %s", out)
	}
	if _, err := os.Stat("/sys/fs/cgroup/pids/krt-node"); err == nil {
		t.Error("the node's cgroup survives Stop")
	}
	if mounts, _ := os.ReadFile("/proc/self/mountinfo"); strings.Contains(string(mounts), dir+"/") {
		t.Errorf("mounts under %s survive Stop", dir)
	}
	if after := iptablesRules(t); after != rulesBefore {
		t.Errorf("the host's iptables rules changed:\nbefore:\n%s\nafter:\n%s", rulesBefore, after)
	}
	if after := readSysctls(t); !mapsEqual(before, after) {
		t.Errorf("sysctls after Stop %v, want them as before the node %v", after, before)
	}
}

// crashWithAPod starts a bare node in another process, runs a pod on it,
// and kills the process with SIGKILL: containerd's shims and the pod
// outlive it, with their mounts, cgroups and the namespace.
func crashWithAPod(t *testing.T, root, bin string) {
	t.Helper()
	cmd := exec.Command(bin, "-bare")
	cmd.Dir = root
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill() })
	up := make(chan struct{})
	go func() {
		sc := bufio.NewScanner(stdout)
		var once sync.Once
		for sc.Scan() {
			if strings.HasPrefix(sc.Text(), "node up") {
				once.Do(func() { close(up) })
			}
		}
	}()
	select {
	case <-up:
	case <-time.After(10 * time.Minute): // test/node may hold the node's lock
		_ = cmd.Process.Kill()
		t.Fatal("nodeup did not start a node in 10 minutes")
	}
	cfg, err := clientcmd.BuildConfigFromFlags("", filepath.Join(dir, "admin.kubeconfig"))
	if err != nil {
		t.Fatal(err)
	}
	cs := kubernetes.NewForConfigOrDie(cfg)
	ctx := context.Background()
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "survivor", Namespace: "default"}, Spec: corev1.PodSpec{
		Containers: []corev1.Container{{Name: "sleep", Image: node.PythonImage, Command: []string{"sleep", "3600"},
			ImagePullPolicy: corev1.PullNever}},
		TerminationGracePeriodSeconds: ptr.To(int64(0))}}
	// The controller-manager makes the default service account the pod
	// needs a moment after the node is up.
	if err := wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, time.Minute, true, func(ctx context.Context) (bool, error) {
		_, err := cs.CoreV1().Pods("default").Create(ctx, pod, metav1.CreateOptions{})
		return err == nil, nil
	}); err != nil {
		t.Fatal("the pod could not be created")
	}
	if err := wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, 2*time.Minute, true, func(ctx context.Context) (bool, error) {
		p, err := cs.CoreV1().Pods("default").Get(ctx, "survivor", metav1.GetOptions{})
		return err == nil && p.Status.Phase == corev1.PodRunning, nil
	}); err != nil {
		t.Fatal("the pod never ran")
	}
	_ = cmd.Process.Kill()
	_ = cmd.Wait()
}

// iptablesRules is the host's rule set, without counters or the dump's
// timestamps.
func iptablesRules(t *testing.T) string {
	t.Helper()
	out, err := exec.Command("iptables-save").Output()
	if err != nil {
		t.Fatalf("iptables-save: %v", err)
	}
	var rules []string
	for _, l := range strings.Split(string(out), "\n") {
		if strings.HasPrefix(l, "#") {
			continue
		}
		rules = append(rules, counters.ReplaceAllString(l, ""))
	}
	return strings.Join(rules, "\n")
}

var counters = regexp.MustCompile(`\[\d+:\d+\]`)

func mapsEqual(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}
