package expr

import (
	"slices"
	"testing"
)

// A remembered answer is the same as a fresh one, and a caller that
// changes its copy does not change the next caller's.
func TestRefsMemoGivesEachCallerItsOwnCopy(t *testing.T) {
	src := "${{ steps.a.outputs.x }} ${{ steps.b.phase }}"
	first := Refs(src)
	first[0] = "changed"
	if got := Refs(src); !slices.Equal(got, []string{"a", "b"}) {
		t.Errorf("Refs after a caller changed its copy = %v", got)
	}
	if got := Roots(src); !slices.Equal(got, []string{"steps"}) {
		t.Errorf("Roots = %v", got)
	}
}

// The memo starts afresh past its bound, so it cannot grow without end.
func TestRefsMemoIsBounded(t *testing.T) {
	m := &memo{found: map[memoKey][]string{}}
	for i := range memoMaxEntries + 10 {
		m.get("steps", string(rune('a'+i%26))+string(rune(i)), func() []string { return nil })
	}
	if len(m.found) > memoMaxEntries {
		t.Errorf("%d entries, want at most %d", len(m.found), memoMaxEntries)
	}
}
