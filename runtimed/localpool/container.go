package localpool

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	runtimectl "krt.dev/krt/controllers/runtime"
)

// podHost maps a runtime pod's containers onto this machine, as a kubelet
// would set them up, so that what runs is the pod's own commands, args, env
// and probes. It is the one place that knows the difference:
//   - each volume is a directory of its name in the pod's dir; a path
//     under its mount path (also in a unix:// address) points there;
//   - a command from the runtimed image is the binary built for the pool;
//   - a listen address with no host (":8081") binds to loopback;
//   - a downward-API env var takes its value from the Pod object.
//
// What the pool adds beyond the pod (runtimed's kubeconfig, test knobs) is
// in Pool.additions.
type podHost struct {
	pod  *corev1.Pod
	dir  string
	bins map[string]string // image path → local binary
}

// maxSocketPath is what a unix socket address can hold (sun_path less its
// terminating NUL).
const maxSocketPath = 107

// volumes creates a directory for each of the pod's volumes. A projected
// volume (runtimed's service-account token) stays empty: the kubeconfig
// the pool gives runtimed (Pool.additions) holds that token instead.
func (h podHost) volumes() error {
	for _, v := range h.pod.Spec.Volumes {
		if v.EmptyDir == nil && v.Projected == nil {
			return fmt.Errorf("pod %s: volume %s is neither an emptyDir nor projected; the local pool has no other kind", h.pod.Name, v.Name)
		}
		if err := os.MkdirAll(filepath.Join(h.dir, v.Name), 0o700); err != nil {
			return err
		}
	}
	return nil
}

// value maps one argument or env value of container c.
func (h podHost) value(c *corev1.Container, v string) (string, error) {
	scheme, path := "", v
	if rest, ok := strings.CutPrefix(v, "unix://"); ok {
		scheme, path = "unix://", rest
	}
	for _, m := range c.VolumeMounts {
		if path != m.MountPath && !strings.HasPrefix(path, m.MountPath+"/") {
			continue
		}
		local := filepath.Join(h.dir, m.Name) + strings.TrimPrefix(path, m.MountPath)
		if scheme == "unix://" && len(local) > maxSocketPath {
			return "", fmt.Errorf("pod %s: the socket %s is %d bytes, more than a unix socket allows (%d); give the pool a shorter directory",
				h.pod.Name, local, len(local), maxSocketPath)
		}
		return scheme + local, nil
	}
	if port, ok := strings.CutPrefix(v, ":"); ok {
		if _, err := strconv.Atoi(port); err == nil {
			return "127.0.0.1:" + port, nil
		}
	}
	return v, nil
}

// local is where a path of a container is on this machine; "" when it is
// on none of its volumes.
func (h podHost) local(container, path string) string {
	for i := range h.pod.Spec.Containers {
		if c := &h.pod.Spec.Containers[i]; c.Name == container {
			if v, err := h.value(c, path); err == nil && v != path {
				return v
			}
		}
	}
	return ""
}

// command is the container's command and args, mapped.
func (h podHost) command(c *corev1.Container) ([]string, error) {
	argv := append(append([]string{}, c.Command...), c.Args...)
	if len(argv) == 0 {
		return nil, fmt.Errorf("pod %s: container %s has no command; the local pool cannot run an image's entrypoint", h.pod.Name, c.Name)
	}
	out := make([]string, len(argv))
	for i, a := range argv {
		v, err := h.value(c, a)
		if err != nil {
			return nil, err
		}
		out[i] = v
	}
	if bin, ok := h.bins[argv[0]]; ok {
		out[0] = bin
	} else if out[0] == argv[0] {
		return nil, fmt.Errorf("pod %s: container %s runs %s, which is neither on a volume nor a binary the local pool has", h.pod.Name, c.Name, argv[0])
	}
	return out, nil
}

// env is the container's environment, mapped, as KEY=value.
func (h podHost) env(c *corev1.Container) ([]string, error) {
	out := make([]string, 0, len(c.Env))
	for _, e := range c.Env {
		var v string
		var err error
		switch {
		case e.ValueFrom == nil:
			v, err = h.value(c, e.Value)
		case e.ValueFrom.FieldRef != nil:
			v, err = h.field(e.ValueFrom.FieldRef.FieldPath)
		default:
			err = fmt.Errorf("pod %s: env %s of container %s: the local pool supports values and fieldRefs only", h.pod.Name, e.Name, c.Name)
		}
		if err != nil {
			return nil, err
		}
		out = append(out, e.Name+"="+v)
	}
	return out, nil
}

// field is a downward-API value of the pod.
func (h podHost) field(path string) (string, error) {
	switch path {
	case "metadata.name":
		return h.pod.Name, nil
	case "metadata.namespace":
		return h.pod.Namespace, nil
	case "metadata.uid":
		return string(h.pod.UID), nil
	case "spec.serviceAccountName":
		return h.pod.Spec.ServiceAccountName, nil
	}
	return "", fmt.Errorf("pod %s: the local pool does not serve the downward-API field %s", h.pod.Name, path)
}

// probe returns a check that passes when the container's probe would. A
// container with no probe is ready once it runs.
func (h podHost) probe(c *corev1.Container, p *corev1.Probe, env []string) (func() bool, error) {
	if p == nil {
		return func() bool { return true }, nil
	}
	timeout := time.Duration(max(p.TimeoutSeconds, 1)) * time.Second
	switch {
	case p.Exec != nil:
		argv, err := h.command(&corev1.Container{Name: c.Name, Command: p.Exec.Command, VolumeMounts: c.VolumeMounts})
		if err != nil {
			return nil, err
		}
		return func() bool {
			ctx, cancel := context.WithTimeout(context.Background(), timeout)
			defer cancel()
			cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
			cmd.Env = env
			return cmd.Run() == nil
		}, nil
	case p.HTTPGet != nil:
		port, err := containerPort(c, p.HTTPGet.Port)
		if err != nil {
			return nil, fmt.Errorf("pod %s: %w", h.pod.Name, err)
		}
		url := "http://127.0.0.1:" + strconv.Itoa(port) + p.HTTPGet.Path
		client := &http.Client{Timeout: timeout}
		return func() bool {
			resp, err := client.Get(url)
			if err != nil {
				return false
			}
			resp.Body.Close()
			return resp.StatusCode >= 200 && resp.StatusCode < 400
		}, nil
	}
	return nil, fmt.Errorf("pod %s: container %s has a probe the local pool cannot run", h.pod.Name, c.Name)
}

func containerPort(c *corev1.Container, port intstr.IntOrString) (int, error) {
	if port.Type == intstr.Int {
		return port.IntValue(), nil
	}
	for _, p := range c.Ports {
		if p.Name == port.StrVal {
			return int(p.ContainerPort), nil
		}
	}
	return 0, fmt.Errorf("container %s has no port named %s", c.Name, port.StrVal)
}

// imageBinaries maps the runtimed image's binaries to the pool's.
func (p *Pool) imageBinaries() map[string]string {
	return map[string]string{runtimectl.ImageRuntimed: p.opts.RuntimedBin, runtimectl.ImageKrtRuntime: p.opts.RuntimeBin}
}
