package runtimeserver

import (
	"context"
	"crypto/sha256"
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

// artifactScript writes a 64 MiB folder: half random, half repetitive
// text, as archive's own benchmark does.
const artifactScript = `mkdir -p out
for i in $(seq 0 31); do head -c 1048576 /dev/urandom > out/r$i; { yes 'ok  krt.dev/krt/runtimed/archive 0.177s coverage: 81.3% of statements' || true; } | head -c 1048576 > out/t$i; done`

// BenchmarkCollect64MiB is Collect's throughput over the local socket:
// pack, hash, spool and stream a 64 MiB folder (uncompressed: SetBytes).
func BenchmarkCollect64MiB(b *testing.B) {
	t := &testing.T{}
	c, _ := serve(t)
	if o := execute(t, c, &runtimev1.ExecuteRequest{Id: "src", Script: artifactScript}); o.exit.GetCode() != 0 {
		b.Fatalf("%v: %s", o.exit, o.stderr)
	}
	b.SetBytes(64 << 20)
	for b.Loop() {
		// Hashed, as runtimed checks what it receives, then dropped.
		if _, _, err := collectTo(c, &runtimev1.CollectRequest{Id: "src", Paths: []string{"out"}}, sha256.New()); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkStage64MiB is Stage's throughput over the local socket, in
// 1 MiB chunks as runtimed sends them: unpack as they arrive, then commit.
func BenchmarkStage64MiB(b *testing.B) {
	t := &testing.T{}
	c, _ := serve(t)
	if o := execute(t, c, &runtimev1.ExecuteRequest{Id: "src", Script: artifactScript}); o.exit.GetCode() != 0 {
		b.Fatalf("%v: %s", o.exit, o.stderr)
	}
	_, data, _, err := collect(t, c, &runtimev1.CollectRequest{Id: "src", Paths: []string{"out"}})
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(64 << 20)
	for i := 0; b.Loop(); i++ {
		id := fmt.Sprint("dst", i)
		if _, err := stageChunks(c, &runtimev1.StageHeader{Id: id}, data, 1<<20); err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		c.Forget(context.Background(), &runtimev1.ForgetRequest{Id: id})
		b.StartTimer()
	}
}
