package logs

import "bytes"

// MaxLine is the most of one line held in memory while it is read: a longer
// line is cut into pieces of this size, each kept as a line of its own.
// Output is masked before it is split, so a cut never splits a secret.
const MaxLine = 64 << 10

// Splitter turns a stream of chunks into whole lines.
type Splitter struct {
	partial []byte
}

// Write returns the complete lines in the chunk, without their newlines,
// and the pieces of any overlong line.
func (s *Splitter) Write(chunk []byte) []string {
	var lines []string
	for len(chunk) > 0 {
		i := bytes.IndexByte(chunk, '\n')
		seg := chunk
		if i >= 0 {
			seg = chunk[:i]
		}
		for len(s.partial)+len(seg) > MaxLine {
			n := MaxLine - len(s.partial)
			lines = append(lines, string(append(s.partial, seg[:n]...)))
			s.partial, seg = s.partial[:0], seg[n:]
		}
		s.partial = append(s.partial, seg...)
		if i < 0 {
			break
		}
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
	s.partial = s.partial[:0]
	return []string{line}
}
