package localpool

import (
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"
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

// A port handed out is not handed out again while its claim is young,
// by this process or another; an old claim no longer holds it.
func TestFreePortHandsAPortOutOnce(t *testing.T) {
	if ephemeralLow() <= portFloor || claims() == "" {
		t.Skip("no range below the ephemeral ports, or no claims directory")
	}
	seen := map[int]bool{}
	for range 200 {
		port, err := FreePort()
		if err != nil {
			t.Fatal(err)
		}
		if seen[port] {
			t.Fatalf("port %d handed out twice within %v", port, claimFor)
		}
		seen[port] = true
	}
	for port := range seen {
		if claim(port) {
			t.Fatalf("port %d claimed again while its claim is young", port)
		}
		old := time.Now().Add(-claimFor - time.Second)
		if err := os.Chtimes(filepath.Join(claims(), strconv.Itoa(port)), old, old); err != nil {
			t.Fatal(err)
		}
		if !claim(port) {
			t.Fatalf("port %d not claimable once its claim is %v old", port, claimFor)
		}
		break
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
