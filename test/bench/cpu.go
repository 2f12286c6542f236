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
// given command names have used so far, including this bench.
func cpuByProcess(names ...string) map[string]float64 {
	want := map[string]bool{}
	for _, n := range names {
		want[n] = true
	}
	out := map[string]float64{}
	stats, _ := filepath.Glob("/proc/[0-9]*/stat")
	self := strconv.Itoa(os.Getpid())
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
		name := s[open+1 : close]
		if strings.TrimSpace(s[:open]) == self {
			name = "bench"
		}
		if !want[name] {
			continue
		}
		f := strings.Fields(s[close+1:])
		if len(f) < 13 {
			continue
		}
		utime, _ := strconv.ParseFloat(f[11], 64)
		stime, _ := strconv.ParseFloat(f[12], 64)
		out[name] += (utime + stime) * 1000 / clockTicks
	}
	return out
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
