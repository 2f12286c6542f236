package localpool

import (
	"fmt"
	"sort"
	"strconv"
	"syscall"

	"k8s.io/apimachinery/pkg/types"

	krtv1 "krt.dev/krt/api/v1alpha1"
	runtimectl "krt.dev/krt/controllers/runtime"
)

// PodInfo describes one running local pod.
type PodInfo struct {
	Name, Namespace string
	UID             types.UID
	Runtime         string
	// Dir holds the pod's volumes and its processes' logs.
	Dir string
	// WorkRoot is where the pod's Runtime Server keeps its executions, one
	// directory each.
	WorkRoot string
	// LogsURL is runtimed's live log server; reading a Run's log there
	// takes LogsToken as a bearer token.
	LogsURL, LogsToken string
	// MetricsURL is runtimed's metrics server (GET /metrics, no token).
	MetricsURL string
	// RuntimedPID and ServerPID are 0 when the process is not running.
	RuntimedPID, ServerPID int
}

// Pods lists the pool's pods of a runtime, by name.
func (p *Pool) Pods(namespace, runtime string) []PodInfo {
	// Copy the list first: a pod's lock can be held through a slow start,
	// and the pool's lock must not wait on it.
	p.mu.Lock()
	var pods []*podProcs
	for key, pp := range p.pods {
		if key.Namespace == namespace && pp.runtime == runtime {
			pods = append(pods, pp)
		}
	}
	p.mu.Unlock()
	var out []PodInfo
	for _, pp := range pods {
		pp.mu.Lock()
		info := PodInfo{Name: pp.pod.Name, Namespace: pp.pod.Namespace, UID: pp.pod.UID, Runtime: pp.runtime, Dir: pp.dir,
			WorkRoot: pp.host.local(runtimectl.RuntimeContainer, runtimectl.WorkRoot),
			LogsURL:  pp.LogsURL(), LogsToken: pp.pod.Annotations[krtv1.AnnotationLocalLogsToken],
			MetricsURL: "http://127.0.0.1:" + strconv.Itoa(int(krtv1.MetricsPort(pp.pod)))}
		if pp.alive(pp.runtimed) {
			info.RuntimedPID = pp.runtimed.Process.Pid
		}
		if pp.alive(pp.server) {
			info.ServerPID = pp.server.Process.Pid
		}
		pp.mu.Unlock()
		out = append(out, info)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

func (p *Pool) get(namespace, pod string) (*podProcs, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	pp := p.pods[types.NamespacedName{Namespace: namespace, Name: pod}]
	if pp == nil {
		return nil, fmt.Errorf("the local pool runs no pod %s/%s", namespace, pod)
	}
	return pp, nil
}

// KillRuntimed kills a pod's runtimed with SIGKILL, as a crash would. The
// Runtime Server and its executions keep running.
func (p *Pool) KillRuntimed(namespace, pod string) error {
	pp, err := p.get(namespace, pod)
	if err != nil {
		return err
	}
	pp.mu.Lock()
	defer pp.mu.Unlock()
	pp.held = true
	pp.kill(pp.runtimed)
	return nil
}

// RestartRuntimed starts a pod's runtimed again, as a kubelet restarts a
// crashed container: same pod, same UID.
func (p *Pool) RestartRuntimed(namespace, pod string) error {
	pp, err := p.get(namespace, pod)
	if err != nil {
		return err
	}
	pp.mu.Lock()
	defer pp.mu.Unlock()
	pp.held = false
	pp.kill(pp.runtimed)
	return p.startRuntimed(pp)
}

// PauseRuntimed stops a pod's runtimed with SIGSTOP, as a partition or a
// long stall would: it neither heartbeats nor writes until resumed.
func (p *Pool) PauseRuntimed(namespace, pod string) error {
	return p.signalRuntimed(namespace, pod, syscall.SIGSTOP)
}

// ResumeRuntimed lets a paused runtimed go on, with SIGCONT.
func (p *Pool) ResumeRuntimed(namespace, pod string) error {
	return p.signalRuntimed(namespace, pod, syscall.SIGCONT)
}

func (p *Pool) signalRuntimed(namespace, pod string, sig syscall.Signal) error {
	pp, err := p.get(namespace, pod)
	if err != nil {
		return err
	}
	pp.mu.Lock()
	defer pp.mu.Unlock()
	if !pp.alive(pp.runtimed) {
		return fmt.Errorf("runtimed of pod %s/%s is not running", namespace, pod)
	}
	return syscall.Kill(pp.runtimed.Process.Pid, sig)
}

// KillPod kills both of a pod's processes, as the loss of its node would,
// and leaves the Pod object as it is.
func (p *Pool) KillPod(namespace, pod string) error {
	pp, err := p.get(namespace, pod)
	if err != nil {
		return err
	}
	pp.mu.Lock()
	defer pp.mu.Unlock()
	pp.held = true
	pp.kill(pp.runtimed)
	pp.kill(pp.server)
	return nil
}
