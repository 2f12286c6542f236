package logs

import "bytes"

// maxLine splits overlong lines so one runaway line cannot grow unbounded.
const maxLine = 64 << 10

// Splitter turns a stream of chunks into whole lines.
type Splitter struct {
	partial []byte
	// Mask, when set, is applied before an overlong line is cut, and Hold
	// bytes are kept back at the cut, so that a secret the cut would split
	// is still masked whole in what follows.
	Mask func(string) string
	Hold int
}

// Write returns the complete lines in the chunk, without their newlines.
func (s *Splitter) Write(chunk []byte) []string {
	var lines []string
	for len(chunk) > 0 {
		i := bytes.IndexByte(chunk, '\n')
		if i < 0 {
			s.partial = append(s.partial, chunk...)
			for len(s.partial) >= maxLine {
				lines = append(lines, s.cut())
			}
			break
		}
		s.partial = append(s.partial, chunk[:i]...)
		lines = append(lines, string(bytes.TrimSuffix(s.partial, []byte("\r"))))
		s.partial = s.partial[:0]
		chunk = chunk[i+1:]
	}
	return lines
}

// cut takes an overlong line's first part off the partial buffer.
func (s *Splitter) cut() string {
	text := string(s.partial)
	if s.Mask != nil {
		text = s.Mask(text)
	}
	n := max(min(maxLine, len(text)-s.Hold), 1)
	s.partial = []byte(text[n:])
	return text[:n]
}

// Flush returns what is left of an unterminated last line.
func (s *Splitter) Flush() []string {
	if len(s.partial) == 0 {
		return nil
	}
	line := string(s.partial)
	s.partial = nil
	return []string{line}
}
