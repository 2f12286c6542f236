package runtimeserver

import (
	"sync"

	runtimev1 "krt.dev/krt/api/runtime/v1"
)

// logBuffer holds an execution's combined output so that a runtimed that
// restarts can attach again and read on from where it stopped. It keeps the
// newest bytes up to its limit; offsets never go backwards.
type logBuffer struct {
	mu      sync.Mutex
	chunks  []*runtimev1.LogChunk
	size    int64 // bytes held in chunks
	end     int64 // offset just past the last byte ever written
	limit   int64
	closed  bool
	changed chan struct{}
}

func newLogBuffer(limit int64) *logBuffer {
	return &logBuffer{limit: limit, changed: make(chan struct{})}
}

func (b *logBuffer) write(stream runtimev1.Stream, data []byte) {
	b.mu.Lock()
	defer b.mu.Unlock()
	c := &runtimev1.LogChunk{Stream: stream, Data: append([]byte(nil), data...), Offset: b.end}
	b.chunks = append(b.chunks, c)
	b.end += int64(len(data))
	b.size += int64(len(data))
	for b.size > b.limit && len(b.chunks) > 1 {
		b.size -= int64(len(b.chunks[0].Data))
		b.chunks[0] = nil
		b.chunks = b.chunks[1:]
	}
	b.notify()
}

// close marks the end of output: readers that have caught up stop waiting.
func (b *logBuffer) close() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.closed = true
	b.notify()
}

func (b *logBuffer) notify() {
	close(b.changed)
	b.changed = make(chan struct{})
}

// since returns the chunks at or after offset (trimming the first one), a
// channel that is closed on the next write, and whether output has ended.
func (b *logBuffer) since(offset int64) ([]*runtimev1.LogChunk, <-chan struct{}, bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []*runtimev1.LogChunk
	for _, c := range b.chunks {
		end := c.Offset + int64(len(c.Data))
		if end <= offset {
			continue
		}
		if c.Offset < offset {
			skip := offset - c.Offset
			c = &runtimev1.LogChunk{Stream: c.Stream, Data: c.Data[skip:], Offset: offset}
		}
		out = append(out, c)
	}
	return out, b.changed, b.closed
}

func (b *logBuffer) length() int64 {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.end
}
