// Package mask hides secret values in log lines and outputs.
package mask

import (
	"sort"
	"strings"
)

// Redacted replaces every secret value.
const Redacted = "***"

// Masker replaces known secret values. The zero value masks nothing.
type Masker struct {
	r       *strings.Replacer
	longest int
}

// New masks each value, and each line of a multi-line value on its own, since
// logs are masked a line at a time. Longer values are replaced first so that
// a secret containing another is hidden whole.
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
		add(v)
		for _, line := range strings.Split(v, "\n") {
			add(strings.TrimSuffix(line, "\r"))
		}
	}
	if len(all) == 0 {
		return &Masker{}
	}
	sort.Slice(all, func(i, j int) bool { return len(all[i]) > len(all[j]) })
	pairs := make([]string, 0, 2*len(all))
	for _, v := range all {
		pairs = append(pairs, v, Redacted)
	}
	return &Masker{r: strings.NewReplacer(pairs...), longest: len(all[0])}
}

// String masks s.
func (m *Masker) String(s string) string {
	if m == nil || m.r == nil {
		return s
	}
	return m.r.Replace(s)
}

// Longest is the length of the longest secret, so a stream can hold back
// that much less one byte where it cuts.
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
