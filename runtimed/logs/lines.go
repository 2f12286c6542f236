package logs

import "bytes"

// maxLine splits overlong lines so one runaway line cannot grow unbounded.
const maxLine = 64 << 10

// Splitter turns a stream of chunks into whole lines.
type Splitter struct {
	partial []byte
}

// Write returns the complete lines in the chunk, without their newlines.
func (s *Splitter) Write(chunk []byte) []string {
	var lines []string
	for len(chunk) > 0 {
		i := bytes.IndexByte(chunk, '\n')
		if i < 0 {
			s.partial = append(s.partial, chunk...)
			for len(s.partial) >= maxLine {
				lines = append(lines, string(s.partial[:maxLine]))
				s.partial = s.partial[maxLine:]
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

// Flush returns what is left of an unterminated last line.
func (s *Splitter) Flush() []string {
	if len(s.partial) == 0 {
		return nil
	}
	line := string(s.partial)
	s.partial = nil
	return []string{line}
}
