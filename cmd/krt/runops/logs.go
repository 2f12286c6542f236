package runops

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"krt.dev/krt/api/scheme"
	krtv1 "krt.dev/krt/api/v1alpha1"
	"krt.dev/krt/controllers/cluster"
)

// LogSource is the API server a Run lives in: the hub, or a Cluster's.
type LogSource struct {
	C   client.WithWatch
	Cfg *rest.Config
}

// NewLogSource connects to the API server of cfg.
func NewLogSource(cfg *rest.Config) (LogSource, error) {
	c, err := client.NewWithWatch(cfg, client.Options{Scheme: scheme.New()})
	return LogSource{C: c, Cfg: cfg}, err
}

// ClusterLogSource connects to a Cluster as the controller does, from its
// kubeconfig Secret in the hub (read with hub's, so the caller's,
// credentials), refusing the same fields.
func ClusterLogSource(ctx context.Context, hub client.Client, cl *krtv1.Cluster, opts cluster.KubeconfigOptions, userAgent string) (LogSource, error) {
	cfg, _, err := cluster.RESTConfig(ctx, hub, cl, opts)
	if err != nil {
		return LogSource{}, fmt.Errorf("the kubeconfig of cluster %s: %w", cl.Name, err)
	}
	cfg.UserAgent = userAgent
	return NewLogSource(cfg)
}

// StreamLogs copies a Run's log to w: the live log its pod's runtimed
// keeps, or, once the pod or its live log is gone, the log runtimed
// archived in the Runtime's ArtifactStore (note hears which). The lines
// are runtimed's, masked before they were kept: values from secretEnv
// never reach here, whoever reads.
func StreamLogs(ctx context.Context, src LogSource, run *krtv1.Run, follow bool, w io.Writer, note func(string)) error {
	pod := &corev1.Pod{}
	if err := src.C.Get(ctx, client.ObjectKey{Namespace: run.Namespace, Name: run.Status.AssignedPod}, pod); err != nil {
		if !apierrors.IsNotFound(err) {
			return err
		}
		if aerr := ArchivedLogs(ctx, src.C, run, w, note); aerr != nil {
			return fmt.Errorf("run %s ran on pod %s, which is gone with its live log, and no archive could be read: %w", run.Name, run.Status.AssignedPod, aerr)
		}
		return nil
	}
	// A terminating pod, or a runtimed that restarted, may have no live
	// log of a finished Run: the archive has it whole. Only when nothing
	// was written yet, so that no line shows twice.
	counted := &countingWriter{w: w}
	err := LiveLogs(ctx, src, run, pod, follow, counted)
	if counted.n == 0 && run.Status.Phase.Terminal() {
		if aerr := ArchivedLogs(ctx, src.C, run, w, note); aerr == nil {
			return nil
		}
	}
	return err
}

// countingWriter counts what was written through it.
type countingWriter struct {
	w io.Writer
	n int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

// LiveLogs copies a Run's log as its pod's runtimed keeps it: from its
// log server on a local pool, else from the runtimed container's log.
func LiveLogs(ctx context.Context, src LogSource, run *krtv1.Run, pod *corev1.Pod, follow bool, w io.Writer) error {
	if ip := net.ParseIP(pod.Status.PodIP); ip != nil && ip.IsLoopback() {
		return localLogs(ctx, run, pod, follow, w)
	}
	return podLogs(ctx, src, run, pod, follow, w)
}

// localLogs reads runtimed's own log server, which a local pool's pods
// serve on the loopback address, with the token the pool put on the pod.
func localLogs(ctx context.Context, run *krtv1.Run, pod *corev1.Pod, follow bool, w io.Writer) error {
	u := fmt.Sprintf("http://%s/runs/%s/logs?follow=%t",
		net.JoinHostPort(pod.Status.PodIP, strconv.Itoa(int(krtv1.LogsPort(pod)))), run.UID, follow)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return err
	}
	if token := pod.Annotations[krtv1.AnnotationLocalLogsToken]; token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 1024))
		return fmt.Errorf("pod %s: %s", pod.Name, msg)
	}
	_, err = io.Copy(w, resp.Body)
	return err
}

// podLogs reads the runtimed container's log, one JSON object per line,
// and writes the Run's lines. Following stops shortly after the Run ends,
// since runtimed's log goes on with other Runs.
func podLogs(ctx context.Context, src LogSource, run *krtv1.Run, pod *corev1.Pod, follow bool, w io.Writer) error {
	cs, err := kubernetes.NewForConfig(src.Cfg)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	if follow {
		go func() {
			_ = WatchRun(ctx, src.C, client.ObjectKeyFromObject(run), func(cur *krtv1.Run) bool { return cur.Status.Phase.Terminal() })
			select {
			case <-time.After(2 * time.Second): // the last lines are on their way
			case <-ctx.Done():
			}
			cancel()
		}()
	}
	stream, err := cs.CoreV1().Pods(pod.Namespace).GetLogs(pod.Name, &corev1.PodLogOptions{Container: "runtimed", Follow: follow}).Stream(ctx)
	if err != nil {
		return err
	}
	defer stream.Close()
	err = PrintJSONLines(w, stream, string(run.UID))
	if ctx.Err() != nil {
		return nil
	}
	return err
}

// NodeRun finds the Run of a workflow run's node, in the hub or in the
// node's cluster, connecting to that cluster the first time one of its
// nodes needs it (sources caches the connections; "" is the hub).
func NodeRun(ctx context.Context, hub client.Client, ns string, sources map[string]LogSource, n krtv1.NodeStatus,
	opts cluster.KubeconfigOptions, userAgent string) (LogSource, *krtv1.Run, error) {
	src, ok := sources[n.Cluster]
	if n.Cluster != "" {
		cl := &krtv1.Cluster{}
		if err := hub.Get(ctx, client.ObjectKey{Namespace: ns, Name: n.Cluster}, cl); err != nil {
			return LogSource{}, nil, err
		}
		ns = cl.Spec.Namespace
		if ns == "" {
			ns = "default"
		}
		if !ok {
			var err error
			if src, err = ClusterLogSource(ctx, hub, cl, opts, userAgent); err != nil {
				return LogSource{}, nil, err
			}
			sources[n.Cluster] = src
		}
	}
	if n.Run == "" {
		return src, nil, errors.New("the node has no Run yet")
	}
	run := &krtv1.Run{}
	if err := src.C.Get(ctx, client.ObjectKey{Namespace: ns, Name: n.Run}, run); err != nil {
		return src, nil, err
	}
	return src, run, nil
}
