package devstack

import (
	"fmt"
	"net"
	"net/url"
	"strconv"

	"sigs.k8s.io/controller-runtime/pkg/envtest"

	"krt.dev/krt/runtimed/localpool"
)

// listenPreferred listens on 127.0.0.1:port, or on a free port when that
// one is taken, saying so through note: a busy port must not stop the
// dev stack, but the user should know why the address differs.
func listenPreferred(what string, port int, note func(string)) (net.Listener, error) {
	if port > 0 {
		l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
		if err == nil {
			return l, nil
		}
		l2, err2 := net.Listen("tcp", "127.0.0.1:0")
		if err2 != nil {
			return nil, err2
		}
		note(fmt.Sprintf("port %d for the %s is in use (%v); using port %d instead",
			port, what, unwrapListen(err), l2.Addr().(*net.TCPAddr).Port))
		return l2, nil
	}
	return net.Listen("tcp", "127.0.0.1:0")
}

// preferredAddress is a port another process will listen on: port if it
// is free, otherwise (or when port is 0) one from below the ephemeral
// range. A port the kernel hands out for 127.0.0.1:0 and this process
// releases is the next one it may hand to the API servers that start
// right after, which pick theirs that way.
func preferredAddress(what string, port int, note func(string)) (string, error) {
	if port <= 0 {
		return localpool.FreeAddress()
	}
	l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
	if err == nil {
		addr := l.Addr().String()
		l.Close()
		return addr, nil
	}
	addr, err2 := localpool.FreeAddress()
	if err2 != nil {
		return "", err2
	}
	note(fmt.Sprintf("port %d for the %s is in use (%v); using %s instead", port, what, unwrapListen(err), addr))
	return addr, nil
}

// PinPorts gives a control plane's etcd (client and peer) and API server
// ports from below the ephemeral range. envtest would pick each by
// binding 127.0.0.1:0 and releasing it, inside the range where every
// outbound connection of a busy test also takes its local port, and where
// the next such pick may get the port just released.
func PinPorts(cp *envtest.ControlPlane) error {
	var addrs [3]string
	for i := range addrs {
		a, err := localpool.FreeAddress()
		if err != nil {
			return err
		}
		addrs[i] = a
	}
	if cp.Etcd == nil {
		cp.Etcd = &envtest.Etcd{}
	}
	cp.Etcd.URL = &url.URL{Scheme: "http", Host: addrs[0]}
	cp.Etcd.Configure().Set("listen-peer-urls", "http://"+addrs[1])
	api := cp.GetAPIServer()
	host, port, _ := net.SplitHostPort(addrs[2])
	api.SecureServing.Address, api.SecureServing.Port = host, port
	return nil
}

func portOf(l net.Listener) int { return l.Addr().(*net.TCPAddr).Port }

// unwrapListen keeps the system's reason ("address already in use")
// without the repetition of the address.
func unwrapListen(err error) string {
	if op, ok := err.(*net.OpError); ok && op.Err != nil {
		return op.Err.Error()
	}
	return err.Error()
}
