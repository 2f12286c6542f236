package cli

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"

	"github.com/spf13/cobra"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/kubernetes"
	"sigs.k8s.io/controller-runtime/pkg/client"

	krtv1 "krt.dev/krt/api/v1alpha1"
)

func (r *root) logsCommand() *cobra.Command {
	var follow bool
	cmd := &cobra.Command{
		Use:   "logs RUN",
		Short: "Print a Run's output, from the runtimed that executes it",
		Long: `Logs prints a Run's output as its runtime pod's runtimed keeps it. With -f it
waits for the Run to start and streams each line as it is written, until the
Run ends.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ns, err := r.namespace()
			if err != nil {
				return err
			}
			c, err := r.client()
			if err != nil {
				return err
			}
			key := client.ObjectKey{Namespace: ns, Name: args[0]}
			var run *krtv1.Run
			err = watchRun(cmd.Context(), c, key, func(cur *krtv1.Run) bool {
				run = cur
				started := cur.Status.Phase == krtv1.RunRunning || cur.Status.Phase.Terminal()
				return !follow || (started && cur.Status.AssignedPod != "")
			})
			if err != nil {
				return err
			}
			if run.Status.AssignedPod == "" {
				return fmt.Errorf("run %s has not started yet (phase %s); use -f to wait for it", run.Name, phaseOf(run))
			}
			return r.streamLogs(cmd.Context(), run, follow)
		},
	}
	cmd.Flags().BoolVarP(&follow, "follow", "f", false, "wait for the Run and stream its output until it ends")
	return cmd
}

// streamLogs copies a Run's log from its pod's runtimed to stdout.
func (r *root) streamLogs(ctx context.Context, run *krtv1.Run, follow bool) error {
	body, err := r.openLogs(ctx, run, follow)
	if err != nil {
		return err
	}
	defer body.Close()
	_, err = io.Copy(r.Out, body)
	return err
}

// openLogs reaches runtimed's log port: straight to a local pool's pod, or
// through the API server's pod proxy in a cluster.
func (r *root) openLogs(ctx context.Context, run *krtv1.Run, follow bool) (io.ReadCloser, error) {
	c, err := r.client()
	if err != nil {
		return nil, err
	}
	pod := &corev1.Pod{}
	if err := c.Get(ctx, client.ObjectKey{Namespace: run.Namespace, Name: run.Status.AssignedPod}, pod); err != nil {
		return nil, fmt.Errorf("run %s ran on pod %s, which is gone, and its logs with it (%v)", run.Name, run.Status.AssignedPod, err)
	}
	path := "runs/" + string(run.UID) + "/logs"
	query := url.Values{"follow": {strconv.FormatBool(follow)}}
	if ip := net.ParseIP(pod.Status.PodIP); ip != nil && ip.IsLoopback() {
		port := logsPort(pod)
		u := fmt.Sprintf("http://%s/%s?%s", net.JoinHostPort(pod.Status.PodIP, strconv.Itoa(port)), path, query.Encode())
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
		if err != nil {
			return nil, err
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return nil, err
		}
		if resp.StatusCode != http.StatusOK {
			msg, _ := io.ReadAll(io.LimitReader(resp.Body, 1024))
			resp.Body.Close()
			return nil, fmt.Errorf("pod %s: %s", pod.Name, msg)
		}
		return resp.Body, nil
	}
	cfg, err := r.restConfig()
	if err != nil {
		return nil, err
	}
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, err
	}
	req := cs.CoreV1().RESTClient().Get().Namespace(pod.Namespace).Resource("pods").
		Name(pod.Name + ":" + krtv1.LogsPortName).SubResource("proxy").Suffix(path)
	for k, v := range query {
		req = req.Param(k, v[0])
	}
	return req.Stream(ctx)
}

func logsPort(p *corev1.Pod) int {
	for _, c := range p.Spec.Containers {
		for _, port := range c.Ports {
			if port.Name == krtv1.LogsPortName {
				return int(port.ContainerPort)
			}
		}
	}
	return 8081
}

func phaseOf(run *krtv1.Run) krtv1.RunPhase {
	if run.Status.Phase == "" {
		return krtv1.RunPending
	}
	return run.Status.Phase
}
