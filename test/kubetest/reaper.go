package kubetest

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// reapOnExit makes sure the kube-apiserver and etcd that envtest started
// die with this process, even when it is killed or a test times out and
// no deferred Stop runs: a detached watchdog kills them once we are gone.
func reapOnExit() {
	pids := childrenNamed("kube-apiserver", "etcd")
	if len(pids) == 0 {
		return
	}
	script := fmt.Sprintf("while kill -0 %d 2>/dev/null; do sleep 1; done; kill -9 %s 2>/dev/null",
		os.Getpid(), strings.Join(pids, " "))
	cmd := exec.Command("sh", "-c", script)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	_ = cmd.Start()
	go func() { _ = cmd.Wait() }()
}

// childrenNamed lists this process's children with the given names.
func childrenNamed(names ...string) []string {
	me := strconv.Itoa(os.Getpid())
	var out []string
	stats, _ := filepath.Glob("/proc/[0-9]*/stat")
	for _, path := range stats {
		data, err := os.ReadFile(path)
		if err != nil {
			continue
		}
		// pid (comm) state ppid ...
		s := string(data)
		open, close := strings.IndexByte(s, '('), strings.LastIndexByte(s, ')')
		if open < 0 || close < open {
			continue
		}
		fields := strings.Fields(s[close+1:])
		if len(fields) < 2 || fields[1] != me {
			continue
		}
		for _, n := range names {
			if s[open+1:close] == n {
				out = append(out, strings.TrimSpace(s[:open]))
			}
		}
	}
	return out
}
