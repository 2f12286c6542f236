// Package mask hides secret values in log output and outputs.
//
// Output is masked as a byte stream, before it is cut into lines, so that
// neither a line break inside a secret nor the cut of an overlong line can
// split a secret into pieces that are each too short to match. A Stream holds
// back only the bytes that could still begin a secret; every other byte
// passes at once.
//
// What is masked, for each secretEnv value with surrounding whitespace
// trimmed:
//   - the whole value, wherever it appears, across lines;
//   - for a multi-line value, also each of its lines on its own (a step that
//     prints `echo $KEY` unquoted joins the lines with spaces, and `grep` or
//     `head` print some of them), except two kinds of line that cannot carry
//     key material: PEM and PGP armor lines (`-----BEGIN …-----`,
//     `-----END …-----`), which name only the kind of key, and lines shorter
//     than MinLine characters, which are structure (`{`, `}`, `---`) far more
//     often than a usable part of a credential, and which masked on their own
//     would garble every log they occur in.
package mask

import (
	"regexp"
	"sort"
	"strings"
)

// Redacted replaces every secret value.
const Redacted = "***"

// MinLine is the shortest line of a multi-line secret that is masked on its
// own as well as within the whole value.
const MinLine = 8

// armor is a PEM (RFC 7468) or OpenPGP armor boundary line: public by
// format, and present in every key of its kind.
var armor = regexp.MustCompile(`^-----(BEGIN|END) [^-]*-----$`)

// Masker replaces known secret values. The zero value and nil mask nothing.
type Masker struct {
	patterns []pattern
	longest  int
}

// pattern is one value to mask, with its KMP failure table.
type pattern struct {
	b    []byte
	fail []int32
}

// New returns a Masker for the given secret values.
func New(values ...string) *Masker {
	seen := map[string]bool{}
	var all []string
	add := func(v string) {
		if v != "" && !seen[v] {
			seen[v] = true
			all = append(all, v)
		}
	}
	for _, v := range values {
		for _, p := range Patterns(v) {
			add(p)
		}
	}
	// Longest first, so that tests and readers see a stable order; the
	// stream masks the union of all matches, so order does not matter.
	sort.Slice(all, func(i, j int) bool { return len(all[i]) > len(all[j]) })
	m := &Masker{}
	for _, v := range all {
		m.patterns = append(m.patterns, pattern{b: []byte(v), fail: failure(v)})
		m.longest = max(m.longest, len(v))
	}
	return m
}

// Patterns lists what is masked for one secret value, by the rules in the
// package comment.
func Patterns(value string) []string {
	whole := strings.TrimSpace(value)
	if whole == "" {
		return nil
	}
	out := []string{whole}
	if !strings.Contains(whole, "\n") {
		return out
	}
	for _, line := range strings.Split(whole, "\n") {
		line = strings.TrimSpace(line)
		if len(line) >= MinLine && !armor.MatchString(line) {
			out = append(out, line)
		}
	}
	return out
}

// failure is the Knuth-Morris-Pratt table: fail[i] is the length of the
// longest proper prefix of p[:i+1] that is also its suffix.
func failure(p string) []int32 {
	f := make([]int32, len(p))
	k := int32(0)
	for i := 1; i < len(p); i++ {
		for k > 0 && p[i] != p[k] {
			k = f[k-1]
		}
		if p[i] == p[k] {
			k++
		}
		f[i] = k
	}
	return f
}

// String masks s whole.
func (m *Masker) String(s string) string {
	if m.empty() {
		return s
	}
	st := m.Stream()
	out := st.Write([]byte(s))
	return string(append(out, st.Flush()...))
}

func (m *Masker) empty() bool { return m == nil || len(m.patterns) == 0 }

// Longest is the length of the longest masked value: after a gap in a
// stream, this many bytes less one may still be the rest of a secret.
func (m *Masker) Longest() int {
	if m == nil {
		return 0
	}
	return m.longest
}

// Map returns the map with its values masked. It reports false if a key
// would change: a key that holds a secret cannot be masked and kept.
func (m *Masker) Map(values map[string]string) (map[string]string, bool) {
	out := make(map[string]string, len(values))
	for k, v := range values {
		if m.String(k) != k {
			return nil, false
		}
		out[k] = m.String(v)
	}
	return out, true
}
