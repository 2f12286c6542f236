package localpool

import (
	"errors"
	"fmt"
	"net"
	"strconv"
	"testing"
)

func TestFreePortIsBelowTheEphemeralRange(t *testing.T) {
	lo := ephemeralLow()
	if lo <= portFloor {
		t.Skipf("the ephemeral range starts at %d, at or below %d", lo, portFloor)
	}
	for range 20 {
		port, err := FreePort()
		if err != nil {
			t.Fatal(err)
		}
		if port < portFloor || port >= lo {
			t.Fatalf("port %d is outside [%d, %d): an outbound connection can take it", port, portFloor, lo)
		}
		l, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(port))
		if err != nil {
			t.Fatalf("port %d was handed out but cannot be bound: %v", port, err)
		}
		l.Close()
	}
}

func TestPortErrorMarksOnlyABindFailure(t *testing.T) {
	exited := fmt.Errorf("pod p: container runtimed: the process exited before it was ready")
	for _, tc := range []struct {
		stderr string
		taken  bool
	}{
		{"runtimed: metrics server: listen tcp 127.0.0.1:35015: bind: address already in use", true},
		{"runtimed: --lease-duration: invalid duration", false},
		{"", false},
	} {
		err := portError(exited, tc.stderr)
		if errors.Is(err, errPortTaken) != tc.taken {
			t.Errorf("stderr %q: taken = %v, want %v", tc.stderr, !tc.taken, tc.taken)
		}
		if !errors.Is(err, exited) {
			t.Errorf("stderr %q: the start's own error is lost: %v", tc.stderr, err)
		}
	}
}
