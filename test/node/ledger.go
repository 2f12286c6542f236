package node

import (
	"bufio"
	"fmt"
	"net"
	"os"
	"runtime"
	"slices"
	"strings"
	"sync"

	"golang.org/x/sys/unix"
)

// Listen opens a TCP listener inside the node's network namespace, on
// the node's address, so pods reach it and nothing outside the machine
// can. The socket stays in the namespace it was made in. The thread that
// enters the namespace never leaves it: its goroutine ends still locked
// to it, so Go retires the thread instead of running anything else there
// (kubetest starts the node's processes from a thread that never ends, so
// their Pdeathsig does not fire with this one).
func Listen() (net.Listener, error) {
	type result struct {
		lis net.Listener
		err error
	}
	done := make(chan result, 1)
	go func() {
		runtime.LockOSThread()
		ns, err := os.Open("/run/netns/" + netnsName)
		if err != nil {
			done <- result{err: err}
			return
		}
		defer ns.Close()
		if err := unix.Setns(int(ns.Fd()), unix.CLONE_NEWNET); err != nil {
			done <- result{err: fmt.Errorf("entering the node's network namespace: %w", err)}
			return
		}
		lis, err := net.Listen("tcp", net.JoinHostPort(NodeIP, "0"))
		done <- result{lis, err}
	}()
	r := <-done
	return r.lis, r.err
}

// Ledger is what steps on the node's pods write, one line per event, so
// a test counts executions from the steps themselves rather than from
// status. A step appends with bash alone:
//
//	echo "start $KRT_ATTEMPT" > /dev/tcp/$ADDR
type Ledger struct {
	// Addr is host/port for bash's /dev/tcp: "192.0.2.2/41234".
	Addr  string
	lis   net.Listener
	mu    sync.Mutex
	lines []string
}

// NewLedger starts a ledger inside the node's namespace.
func NewLedger() (*Ledger, error) {
	lis, err := Listen()
	if err != nil {
		return nil, err
	}
	_, port, _ := net.SplitHostPort(lis.Addr().String())
	l := &Ledger{Addr: NodeIP + "/" + port, lis: lis}
	go l.serve()
	return l, nil
}

func (l *Ledger) serve() {
	for {
		conn, err := l.lis.Accept()
		if err != nil {
			return
		}
		go func() {
			defer conn.Close()
			sc := bufio.NewScanner(conn)
			for sc.Scan() {
				l.mu.Lock()
				l.lines = append(l.lines, strings.TrimSpace(sc.Text()))
				l.mu.Unlock()
			}
		}()
	}
}

// Lines is every line written so far, in arrival order; lines sent on
// different connections may arrive in any order.
func (l *Ledger) Lines() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.lines)
}

// Count is how many lines equal line.
func (l *Ledger) Count(line string) int {
	n := 0
	for _, s := range l.Lines() {
		if s == line {
			n++
		}
	}
	return n
}

// Close stops the ledger.
func (l *Ledger) Close() error { return l.lis.Close() }
