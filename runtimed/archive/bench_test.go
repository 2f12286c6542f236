package archive

import (
	"bytes"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
)

// benchTree is a 64 MiB folder of 64 files: half random (a built binary,
// compressed assets), half repetitive text (logs, reports), the mix an
// artifact usually is.
func benchTree(b *testing.B) string {
	dir := b.TempDir()
	rng := rand.New(rand.NewPCG(1, 2))
	line := []byte("ok  \tkrt.dev/krt/runtimed/archive\t0.177s coverage: 81.3% of statements\n")
	for i := range 64 {
		data := make([]byte, 1<<20)
		if i%2 == 0 {
			for j := range data {
				data[j] = byte(rng.Uint32())
			}
		} else {
			for j := 0; j < len(data); j += len(line) {
				copy(data[j:], line)
			}
		}
		sub := filepath.Join(dir, fmt.Sprintf("d%d", i%8))
		must(b, os.MkdirAll(sub, 0o755))
		must(b, os.WriteFile(filepath.Join(sub, fmt.Sprintf("f%02d", i)), data, 0o644))
	}
	return dir
}

func BenchmarkPack64MiB(b *testing.B) {
	root := openRoot(b, benchTree(b))
	b.SetBytes(64 << 20)
	var size int64
	for b.Loop() {
		cw := &countingWriter{}
		if _, err := Pack(cw, root, []string{"."}, PackOptions{}); err != nil {
			b.Fatal(err)
		}
		size = cw.n
	}
	b.ReportMetric(float64(size)/float64(64<<20), "ratio")
}

func BenchmarkUnpack64MiB(b *testing.B) {
	var buf bytes.Buffer
	if _, err := Pack(&buf, openRoot(b, benchTree(b)), []string{"."}, PackOptions{}); err != nil {
		b.Fatal(err)
	}
	b.SetBytes(64 << 20)
	for b.Loop() {
		b.StopTimer()
		dest := b.TempDir()
		b.StartTimer()
		if _, err := Unpack(bytes.NewReader(buf.Bytes()), openRoot(b, dest), UnpackOptions{}); err != nil {
			b.Fatal(err)
		}
	}
}

type countingWriter struct{ n int64 }

func (c *countingWriter) Write(p []byte) (int, error) { c.n += int64(len(p)); return len(p), nil }

var _ io.Writer = (*countingWriter)(nil)
