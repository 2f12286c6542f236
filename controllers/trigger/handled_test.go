package trigger

import (
	"slices"
	"testing"
)

// A full record drops the names of events no longer recorded first, and
// a live event's name only when there is nothing else to drop.
func TestHandledTrimmed(t *testing.T) {
	live := func(n string) bool { return n[0] == 'L' }
	for _, tc := range []struct {
		name  string
		names []string
		limit int
		want  []string
	}{
		{"under the limit", []string{"a", "L1"}, 3, []string{"a", "L1"}},
		{"dead names first, oldest first", []string{"L1", "a", "L2", "b", "c"}, 3, []string{"L1", "L2", "c"}},
		{"then the oldest live", []string{"L1", "L2", "L3"}, 2, []string{"L2", "L3"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHandled(tc.names)
			if got := h.trimmed(tc.limit, live); !slices.Equal(got, tc.want) {
				t.Errorf("trimmed(%v, %d) = %v, want %v", tc.names, tc.limit, got, tc.want)
			}
		})
	}
	h := newHandled([]string{"a"})
	if h.add("a") || h.changed || !h.add("b") || !h.changed {
		t.Errorf("add: a known name must change nothing, a new one must be noted: %+v", h)
	}
}
