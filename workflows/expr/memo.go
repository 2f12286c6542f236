package expr

import (
	"slices"
	"sync"
)

// Bounds of the memo of references: past either it starts afresh, so a
// long-lived controller holds at most this much whatever it is fed.
const (
	memoMaxEntries = 8192
	memoMaxBytes   = 16 << 20
)

// memo remembers the names found in a string. The workflow engine asks
// for the references of every field of every step on every pass over a
// run, and a CEL parse costs far more than a lookup: without it, parsing
// was half of krt-controller's CPU on a 100-step chain, and the cost grew
// with the square of a run's length.
type memo struct {
	mu    sync.Mutex
	found map[memoKey][]string
	bytes int
}

type memoKey struct{ root, src string }

var refsMemo = &memo{found: map[memoKey][]string{}}

// get returns what compute finds in src for root, computing it once. The
// caller gets its own copy, free to change.
func (m *memo) get(root, src string, compute func() []string) []string {
	k := memoKey{root, src}
	m.mu.Lock()
	v, ok := m.found[k]
	m.mu.Unlock()
	if ok {
		return slices.Clone(v)
	}
	v = compute()
	m.mu.Lock()
	if len(m.found) >= memoMaxEntries || m.bytes+len(src) > memoMaxBytes {
		m.found, m.bytes = map[memoKey][]string{}, 0
	}
	m.found[k] = v
	m.bytes += len(src)
	m.mu.Unlock()
	return slices.Clone(v)
}
