package node

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
)

// krt on the node: its images built from the tree and imported, never
// pulled, and its chart installed with them.
const (
	ImageRegistry = "local.krt"
	ImageTag      = "node-test"
	// PythonImage is the debootstrap-built Debian 12 with bash and
	// python3 that `make node-images` makes.
	PythonImage = "docker.io/local/debian-python:12"
)

// KrtOptions are the options of a node that runs krt from the tree at
// root, with its images in imageDir (see BuildKrtImages).
func KrtOptions(root, imageDir string) Options {
	return Options{
		Dir: "/tmp/krt-node", Bin: filepath.Join(root, "bin"),
		Images: []string{
			filepath.Join(root, "bin/node-images/pause.tar"), filepath.Join(root, "bin/node-images/debian-python.tar"),
			filepath.Join(imageDir, "krt-controller.tar"), filepath.Join(imageDir, "krt-runtimed.tar"),
		},
		Runc: "/usr/sbin/runc", CNIBinDir: "/usr/lib/cni",
		Logf: func(format string, args ...any) { fmt.Fprintf(os.Stderr, format+"\n", args...) },
	}
}

// BuildKrtImages builds krt's two images from the tree at root into a
// new temporary directory, as `make images` does; the caller removes it.
func BuildKrtImages(ctx context.Context, root string) (string, error) {
	dir, err := os.MkdirTemp("", "krt-node-images-")
	if err != nil {
		return "", err
	}
	t := time.Now()
	cmd := exec.CommandContext(ctx, "go", "run", "./hack/images", "krt", "-registry", ImageRegistry, "-tag", ImageTag, "-out", dir)
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		os.RemoveAll(dir)
		return "", fmt.Errorf("building krt's images: %v\n%s", err, out)
	}
	fmt.Fprintf(os.Stderr, "node: krt's images built in %s\n", time.Since(t).Round(time.Second))
	return dir, nil
}

// InstallChart is `helm install` of charts/krt with the images
// BuildKrtImages made; --wait holds until krt-controller is Ready.
func (n *Node) InstallChart(ctx context.Context, root string) error {
	t := time.Now()
	cmd := exec.CommandContext(ctx, filepath.Join(root, "bin", "helm"), "install", "krt", "charts/krt",
		"--kubeconfig", n.Kubeconfig, "--namespace", "krt-system", "--create-namespace",
		"--set", "image.repository="+ImageRegistry+"/krt-controller", "--set", "image.tag="+ImageTag,
		"--set", "image.pullPolicy=Never",
		"--set", "runtimedImage.repository="+ImageRegistry+"/krt-runtimed", "--set", "runtimedImage.tag="+ImageTag,
		"--wait", "--timeout", "3m")
	cmd.Dir = root
	// Not ~/.kube/cache: an earlier node on the same host:port left its
	// discovery there, with the CRDs of its day.
	cmd.Env = append(os.Environ(), "KUBECACHEDIR="+filepath.Join(filepath.Dir(n.Kubeconfig), "kube-cache"))
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("helm install: %v\n%s\n%s", err, out, n.Describe(ctx, "krt-system"))
	}
	// What `kubectl rollout status` checks; helm's --wait is looser with
	// some strategies, and the tests need the controller serving.
	err := wait.PollUntilContextTimeout(ctx, 200*time.Millisecond, 2*time.Minute, true, func(ctx context.Context) (bool, error) {
		d, err := n.Clientset.AppsV1().Deployments("krt-system").Get(ctx, "krt-controller", metav1.GetOptions{})
		if err != nil {
			return false, nil
		}
		return d.Status.ObservedGeneration == d.Generation && d.Spec.Replicas != nil &&
			d.Status.ReadyReplicas == *d.Spec.Replicas && d.Status.UpdatedReplicas == *d.Spec.Replicas, nil
	})
	if err != nil {
		return fmt.Errorf("krt-controller not rolled out after helm install: %v\n%s", err, n.Describe(ctx, "krt-system"))
	}
	n.logf("node: krt installed with helm in %s", time.Since(t).Round(100*time.Millisecond))
	return nil
}
