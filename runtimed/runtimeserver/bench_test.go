package runtimeserver

import (
	"fmt"
	"testing"

	runtimev1 "krt.dev/krt/api/runtime/v1"
)

// BenchmarkExecuteNoop is the Runtime Server's share of a no-op Run's
// latency: start, stream and end of `true` over the local socket.
func BenchmarkExecuteNoop(b *testing.B) {
	t := &testing.T{}
	c, _ := serve(t)
	for i := 0; b.Loop(); i++ {
		execute(t, c, &runtimev1.ExecuteRequest{Id: fmt.Sprint(i), Command: []string{"true"}})
	}
}
