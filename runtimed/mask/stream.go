package mask

import (
	"bytes"
	"sort"
)

// Stream masks one output stream as it arrives. It holds back only the
// bytes that could still be the start of a secret, so its memory is bounded
// by the longest secret, whatever the lines look like.
type Stream struct {
	m *Masker
	// state[i] is how many bytes of pattern i the output now ends with.
	state []int32
	// pending are the bytes not yet emitted; base is the stream offset of
	// pending[0].
	pending []byte
	base    int64
	// spans are the ranges of pending to mask, in stream offsets.
	spans []span
	// blank is how many bytes after a gap are still masked unseen.
	blank int
}

type span struct{ from, to int64 }

// Stream returns a new stream masker.
func (m *Masker) Stream() *Stream {
	s := &Stream{m: m}
	if !m.empty() {
		s.state = make([]int32, len(m.patterns))
	}
	return s
}

// Write takes the next bytes of output and returns what can be emitted now,
// masked. The result is only valid until the next call.
func (s *Stream) Write(p []byte) []byte {
	if s.m.empty() {
		return p
	}
	start := s.end()
	s.pending = append(s.pending, p...)
	if s.blank > 0 {
		n := min(s.blank, len(p))
		s.spans = append(s.spans, span{start, start + int64(n)})
		s.blank -= n
	}
	for i := range s.m.patterns {
		s.scan(i, p, start)
	}
	return s.emit(s.safe())
}

// Flush ends the stream and returns the rest, masked. What the output ends
// with that is the start of a secret, MinLine bytes or more, is masked too:
// it is most likely a secret cut short by the end of the process.
func (s *Stream) Flush() []byte {
	if s.m.empty() {
		return nil
	}
	if h := s.held(); h >= MinLine {
		s.spans = append(s.spans, span{s.end() - int64(h), s.end()})
	}
	return s.finish()
}

// Gap tells the stream that output was lost here: what came before was cut
// off from what comes after. Whatever is held back may be the start of a
// secret whose rest was lost, and the first Longest()-1 bytes after the gap
// may be the rest of one whose start was lost: both are masked. It returns
// the rest of the output before the gap, masked.
func (s *Stream) Gap() []byte {
	if s.m.empty() {
		return nil
	}
	if h := s.held(); h > 0 {
		s.spans = append(s.spans, span{s.end() - int64(h), s.end()})
	}
	out := s.finish()
	s.blank = s.m.longest - 1
	return out
}

func (s *Stream) finish() []byte {
	out := s.emit(s.end())
	for i := range s.state {
		s.state[i] = 0
	}
	return out
}

func (s *Stream) end() int64 { return s.base + int64(len(s.pending)) }

// scan runs pattern i over p, which starts at stream offset start, and
// records each match.
func (s *Stream) scan(i int, p []byte, start int64) {
	pt := s.m.patterns[i]
	q := s.state[i]
	for j := 0; j < len(p); j++ {
		if q == 0 {
			// Outside any partial match: skip to the next possible start.
			k := bytes.IndexByte(p[j:], pt.b[0])
			if k < 0 {
				break
			}
			j += k
		}
		c := p[j]
		for q > 0 && c != pt.b[q] {
			q = pt.fail[q-1]
		}
		if c == pt.b[q] {
			q++
		}
		if int(q) == len(pt.b) {
			to := start + int64(j) + 1
			s.spans = append(s.spans, span{to - int64(q), to})
			q = pt.fail[q-1]
		}
	}
	s.state[i] = q
}

// held is how many bytes at the end could still begin a secret.
func (s *Stream) held() int {
	h := int32(0)
	for _, q := range s.state {
		h = max(h, q)
	}
	return int(h)
}

// safe is how far output can be emitted: up to what is held back, and
// never into the middle of a masked span.
func (s *Stream) safe() int64 {
	s.merge()
	e := s.end() - int64(s.held())
	for _, sp := range s.spans {
		if sp.from < e && e < sp.to {
			return sp.from
		}
	}
	return e
}

func (s *Stream) merge() {
	if len(s.spans) < 2 {
		return
	}
	sort.Slice(s.spans, func(i, j int) bool { return s.spans[i].from < s.spans[j].from })
	out := s.spans[:1]
	for _, sp := range s.spans[1:] {
		last := &out[len(out)-1]
		if sp.from <= last.to {
			last.to = max(last.to, sp.to)
			continue
		}
		out = append(out, sp)
	}
	s.spans = out
}

// emit returns pending up to stream offset e, each masked span replaced.
func (s *Stream) emit(e int64) []byte {
	s.merge()
	n := int(e - s.base)
	var out []byte
	at, kept := 0, s.spans[:0]
	for _, sp := range s.spans {
		if sp.from >= e {
			kept = append(kept, sp)
			continue
		}
		from, to := int(sp.from-s.base), int(sp.to-s.base)
		out = append(append(out, s.pending[at:from]...), Redacted...)
		at = to
	}
	out = append(out, s.pending[at:n]...)
	s.spans = kept
	// Slicing keeps this linear; the next append that outgrows what is
	// left copies only the held bytes, and frees the rest.
	s.pending = s.pending[n:]
	s.base = e
	return out
}
