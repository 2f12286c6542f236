package store

import (
	"bytes"
	"context"
	"encoding/binary"
	"io"
	"testing"
)

var seq uint64

// BenchmarkPutGet64MiB is the baseline that issue 15's artifact figures are
// a ratio to: a plain put, then get, of 64 MiB to each backend.
//
//	go test -run '^$' -bench PutGet64MiB -benchtime 3x ./runtimed/store/
func BenchmarkPutGet64MiB(b *testing.B) {
	const size = 64 << 20
	for _, be := range backends {
		s, _ := be.open(b)
		data := randomBytes(b, size)
		b.Run(be.name+"/put", func(b *testing.B) {
			b.SetBytes(size)
			for b.Loop() {
				b.StopTimer()
				// A new blob each time, also across -count, or PutBlob skips it.
				seq++
				binary.LittleEndian.PutUint64(data, seq)
				d := Digest(data)
				b.StartTimer()
				_, err := s.PutBlob(context.Background(), d, size, bytes.NewReader(data))
				if err != nil {
					b.Fatal(err)
				}
			}
		})
		// PutStream: the same bytes without the sha256, to show its cost.
		b.Run(be.name+"/put-stream", func(b *testing.B) {
			b.SetBytes(size)
			for b.Loop() {
				if err := s.PutStream(context.Background(), "bench/stream", bytes.NewReader(data)); err != nil {
					b.Fatal(err)
				}
			}
		})
		d := put(b, s, data)
		b.Run(be.name+"/get", func(b *testing.B) {
			b.SetBytes(size)
			for b.Loop() {
				r, _, err := s.GetBlob(context.Background(), d)
				if err != nil {
					b.Fatal(err)
				}
				if n, err := io.Copy(io.Discard, r); err != nil || n != size {
					b.Fatal(n, err)
				}
				r.Close()
			}
		})
	}
}
