package devstack

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/go-logr/logr"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/config"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	"krt.dev/krt/api/scheme"
	krtv1 "krt.dev/krt/api/v1alpha1"
	"krt.dev/krt/runtimed/localpool"
)

// remoteControllers are what a workload cluster runs: Runs there come
// from the hub's workflow controller, so it needs no source, cluster or
// workflow controller of its own.
const remoteControllers = "scheduler,reaper,ttl,runtime,maintainer"

// cluster is one API server with krt running against it: krt-controller
// as a process and the local runtime pool in this process.
type cluster struct {
	name    string
	hub     bool
	dir     string
	cp      *controlPlane
	ctl     *child
	pool    *localpool.Pool
	stopMgr context.CancelFunc
	mgrDone chan struct{}
}

func (s *stack) startCluster(name string, hub bool) (*cluster, error) {
	c := &cluster{name: name, hub: hub, dir: filepath.Join(s.opts.Dir, name)}
	if err := os.MkdirAll(c.dir, 0o700); err != nil {
		return nil, err
	}
	cp, err := startControlPlane(name, c.dir, s.logs, s.paths)
	if cp == nil && err == nil {
		err = fmt.Errorf("%s: no control plane", name)
	}
	if err != nil {
		return nil, err
	}
	c.cp = cp
	s.state.addProcs(name, cp.procs...)
	_ = s.state.update(func(st *State) {
		cs := st.cluster(name)
		cs.Kubeconfig, cs.Server = cp.kubeconfig, cp.server
	})
	if err := s.startController(c); err != nil {
		c.stop()
		return nil, err
	}
	if err := s.startPool(c); err != nil {
		c.stop()
		return nil, err
	}
	return c, nil
}

// startController runs krt-controller against the cluster and waits for
// its readiness endpoint.
func (s *stack) startController(c *cluster) error {
	health, err := localpool.FreeAddress()
	if err != nil {
		return err
	}
	args := []string{"--kubeconfig", c.cp.kubeconfig, "--metrics-bind-address", "0",
		"--health-probe-bind-address", health, "--git-cache-dir", filepath.Join(c.dir, "git-cache")}
	if c.hub {
		args = append(args, "--webhook-bind-address", s.webhookAddr)
	} else {
		args = append(args, "--controllers", remoteControllers, "--webhook-bind-address", "")
	}
	logPath := filepath.Join(s.logs, c.name+"-krt-controller.log")
	ctl, err := startChild("krt-controller", logPath, s.paths.Controller, args...)
	if err != nil {
		return err
	}
	c.ctl = ctl
	s.state.addProcs(c.name, ctl.proc())
	if err := waitHTTP("http://"+health+"/readyz", ctl.done, time.Minute); err != nil {
		return fmt.Errorf("%s: krt-controller %v; its log is %s:\n%s", c.name, err, logPath, tail(logPath, 10))
	}
	return nil
}

// startPool runs the local runtime pool, which plays the kubelet for the
// Runtimes of this cluster, in a manager of its own.
func (s *stack) startPool(c *cluster) error {
	mgr, err := ctrl.NewManager(c.cp.cfg, ctrl.Options{
		Scheme:                 scheme.New(),
		Metrics:                metricsserver.Options{BindAddress: "0"},
		HealthProbeBindAddress: "0",
		Logger:                 s.log.WithValues("cluster", c.name),
		// One pool per cluster, all in this process.
		Controller: config.Controller{SkipNameValidation: ptr.To(true)},
	})
	if err != nil {
		return fmt.Errorf("%s: the local pool: %w", c.name, err)
	}
	c.pool = localpool.New(localpool.Options{
		Kubeconfig:           c.cp.kubeconfig,
		RuntimedBin:          s.paths.Runtimed,
		RuntimeBin:           s.paths.KrtRuntime,
		Dir:                  filepath.Join(c.dir, "pool"),
		ServiceAccountTokens: true,
		Log:                  s.log.WithName("localpool").WithValues("cluster", c.name),
	})
	if err := c.pool.SetupWithManager(mgr); err != nil {
		return fmt.Errorf("%s: the local pool: %w", c.name, err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	c.stopMgr, c.mgrDone = cancel, make(chan struct{})
	go func(log logr.Logger) {
		defer close(c.mgrDone)
		if err := mgr.Start(ctx); err != nil {
			log.Error(err, "the local pool stopped")
		}
	}(s.log)
	return nil
}

// stop ends what runs against the cluster, then the cluster itself.
// Runtime pods are deleted, as their processes are gone: the next `up`
// starts fresh ones instead of adopting pods with stale ports.
func (c *cluster) stop() {
	if c == nil {
		return
	}
	if c.stopMgr != nil {
		c.stopMgr()
		<-c.mgrDone
	}
	if c.pool != nil {
		c.pool.Stop()
		c.deleteRuntimePods()
	}
	c.ctl.stop(10 * time.Second)
	c.cp.stop()
}

func (c *cluster) deleteRuntimePods() {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	pods := &corev1.PodList{}
	if err := c.cp.client.List(ctx, pods, client.HasLabels{krtv1.LabelRuntime}); err != nil {
		return
	}
	for i := range pods.Items {
		_ = c.cp.client.Delete(ctx, &pods.Items[i], client.GracePeriodSeconds(0))
	}
}

// waitHTTP polls url until it answers 200, the process ends or timeout.
func waitHTTP(url string, exited <-chan struct{}, timeout time.Duration) error {
	deadline := time.After(timeout)
	hc := &http.Client{Timeout: 2 * time.Second}
	for {
		resp, err := hc.Get(url)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		select {
		case <-exited:
			return fmt.Errorf("exited while starting")
		case <-deadline:
			return fmt.Errorf("was not ready after %s", timeout)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// tail is the end of a log, to show with a failure.
func tail(path string, n int) string {
	data, _ := os.ReadFile(path)
	lines := strings.Split(strings.TrimRight(string(data), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return "  " + strings.Join(lines, "\n  ")
}
