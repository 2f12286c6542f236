package localpool

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
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
		l, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(port))
		if err == nil {
			l.Close()
			return port, nil
		}
	}
	return anyFreePort()
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
