package localpool

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"
)

// errPortTaken marks a container that could not bind its pod's port. Real
// pods each have their own network namespace; here every pod shares
// loopback, so a port picked when the pod was made can be taken before its
// container binds it. The pod is then replaced, with new ports, since its
// spec pins them.
var errPortTaken = errors.New("its port is taken")

// portFloor is the lowest port the pool hands out, above the well-known
// and the commonly registered ports of services a machine may run.
const portFloor = 20000

// FreePort picks a loopback port that is free now, for a process that
// binds it a moment later. It comes from below the kernel's ephemeral
// range: a port from bind(":0") lies inside it, where every outbound
// connection (the many clients of an API server) also takes its local
// port, and one of them can take it before the process binds it.
func FreePort() (int, error) {
	lo := ephemeralLow()
	if lo <= portFloor {
		return anyFreePort()
	}
	for range 64 {
		port := portFloor + rand.IntN(lo-portFloor)
		if !claim(port) {
			continue
		}
		l, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(port))
		if err == nil {
			l.Close()
			return port, nil
		}
	}
	return anyFreePort()
}

// FreeAddress is FreePort as a loopback address, for a process's endpoint.
func FreeAddress() (string, error) {
	port, err := FreePort()
	if err != nil {
		return "", err
	}
	return net.JoinHostPort("127.0.0.1", strconv.Itoa(port)), nil
}

// claimFor is how long a port handed out stays out of FreePort's picks:
// time enough for its process to start and bind it.
const claimFor = 2 * time.Minute

// claims holds one file per port handed out lately by any process of this
// user. The picks are random, and without it two of them (in one process,
// or in two test packages at once) could hand out the same port while it
// is still free.
var claims = sync.OnceValue(func() string {
	dir := filepath.Join(os.TempDir(), fmt.Sprintf("krt-ports-%d", os.Getuid()))
	if os.MkdirAll(dir, 0o700) != nil {
		return ""
	}
	return dir
})

// claim reports whether this process may hand out port: no claim on it is
// younger than claimFor. An old claim is moved aside first, and a move
// succeeds for only one of several processes doing it at once.
func claim(port int) bool {
	dir := claims()
	if dir == "" {
		return true // no claims to keep: the bind check alone
	}
	path := filepath.Join(dir, strconv.Itoa(port))
	for range 2 {
		f, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
		if err == nil {
			f.Close()
			return true
		}
		st, err := os.Stat(path)
		if err != nil || time.Since(st.ModTime()) < claimFor {
			return false
		}
		aside := fmt.Sprintf("%s.%d", path, os.Getpid())
		if os.Rename(path, aside) != nil {
			return false
		}
		os.Remove(aside)
	}
	return false
}

// ephemeralLow is the first port of the kernel's ephemeral range, or 0 when
// it cannot be read; read once, not on every pod's ports.
var ephemeralLow = sync.OnceValue(readEphemeralLow)

func readEphemeralLow() int {
	data, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range")
	if err != nil {
		return 0
	}
	fields := strings.Fields(string(data))
	if len(fields) != 2 {
		return 0
	}
	lo, err := strconv.Atoi(fields[0])
	if err != nil {
		return 0
	}
	return lo
}

func anyFreePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// portError wraps a container's start failure with errPortTaken when its
// stderr says a bind failed.
func portError(err error, stderr string) error {
	if strings.Contains(stderr, "address already in use") {
		return fmt.Errorf("%w: %w", errPortTaken, err)
	}
	return err
}
