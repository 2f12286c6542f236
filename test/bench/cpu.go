package main

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// clockTicks is the kernel's USER_HZ, the unit of /proc/<pid>/stat times.
const clockTicks = 100

// cpuByProcess sums the CPU time, in milliseconds, that processes with the
// given command names have used so far, including this bench. Only this
// bench's own descendants count: other work on a shared machine runs its
// own kube-apiservers and etcds, whose CPU is not this run's.
func cpuByProcess(names ...string) map[string]float64 {
	want := map[string]bool{}
	for _, n := range names {
		want[n] = true
	}
	procs := readProcs()
	self := os.Getpid()
	out := map[string]float64{}
	for pid, p := range procs {
		name := p.name
		if pid == self {
			name = "bench"
		}
		if want[name] && descends(procs, pid, self) {
			out[name] += p.cpuMs
		}
	}
	return out
}

// proc is what the bench reads of a process's /proc/<pid>/stat.
type proc struct {
	name  string
	ppid  int
	cpuMs float64
}

func readProcs() map[int]proc {
	stats, _ := filepath.Glob("/proc/[0-9]*/stat")
	out := map[int]proc{}
	for _, path := range stats {
		data, err := os.ReadFile(path)
		if err != nil {
			continue
		}
		s := string(data)
		open, close := strings.IndexByte(s, '('), strings.LastIndexByte(s, ')')
		if open < 0 || close < open {
			continue
		}
		f := strings.Fields(s[close+1:])
		if len(f) < 13 {
			continue
		}
		pid, _ := strconv.Atoi(strings.TrimSpace(s[:open]))
		ppid, _ := strconv.Atoi(f[1])
		utime, _ := strconv.ParseFloat(f[11], 64)
		stime, _ := strconv.ParseFloat(f[12], 64)
		out[pid] = proc{name: s[open+1 : close], ppid: ppid, cpuMs: (utime + stime) * 1000 / clockTicks}
	}
	return out
}

// descends reports whether pid is root or one of its descendants.
func descends(procs map[int]proc, pid, root int) bool {
	for range 64 { // a bound, in case of a cycle in a racy read
		if pid == root {
			return true
		}
		p, ok := procs[pid]
		if !ok || pid <= 1 {
			return false
		}
		pid = p.ppid
	}
	return false
}

// krtProcesses are the processes whose CPU a Run costs.
var krtProcesses = []string{"kube-apiserver", "etcd", "krt-controller", "runtimed", "krt-runtime", "bench"}

// cpuPerRun is the CPU each process spent per Run between two samples.
func cpuPerRun(before, after map[string]float64, runs int) map[string]float64 {
	out := map[string]float64{}
	for name, v := range after {
		out[name] = round2((v - before[name]) / float64(runs))
	}
	return out
}
