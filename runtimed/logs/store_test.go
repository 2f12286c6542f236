package logs

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/types"
)

// texts follows a finished log and returns its lines.
func texts(t *testing.T, l *Log) []string {
	t.Helper()
	var got []string
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := l.Follow(ctx, false, func(line Line) error { got = append(got, line.Text); return nil }); err != nil {
		t.Fatal(err)
	}
	return got
}

func TestLogKeepsHeadAndTailAndSaysWhatItDropped(t *testing.T) {
	line := func(i int) Line { return Line{Stream: "stdout", Text: fmt.Sprintf("line %02d", i)} }
	per := line(0).cost()
	cases := []struct {
		name        string
		head, tail  int // in lines
		n           int
		want        []string
		wantDropped Dropped
	}{
		{name: "within the head", head: 4, tail: 2, n: 3, want: []string{"line 00", "line 01", "line 02"}},
		{name: "head, then the newest", head: 2, tail: 2, n: 7, wantDropped: Dropped{Lines: 3, Bytes: 21},
			want: []string{"line 00", "line 01", NoticeFull, "krt: 3 lines (21 bytes) dropped: log buffer full", "line 05", "line 06"}},
		{name: "head full, nothing dropped", head: 2, tail: 2, n: 4,
			want: []string{"line 00", "line 01", NoticeFull, "line 02", "line 03"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := NewStore(Options{HeadBytes: tc.head * per, TailBytes: tc.tail * per})
			l := s.Open("u")
			var forwarded []string
			for i := range tc.n {
				for _, f := range l.Append(line(i)) {
					forwarded = append(forwarded, f.Text)
				}
			}
			sealed, dropped := l.Seal(time.Now(), 0)
			for _, f := range sealed {
				forwarded = append(forwarded, f.Text)
			}
			s.Finish("u")
			if got := texts(t, l); strings.Join(got, "|") != strings.Join(tc.want, "|") {
				t.Errorf("log =\n%q\nwant\n%q", got, tc.want)
			}
			if strings.Join(forwarded, "|") != strings.Join(tc.want, "|") {
				t.Errorf("forwarded to the container log =\n%q\nwant the same lines as the log", forwarded)
			}
			if dropped != tc.wantDropped {
				t.Errorf("dropped = %+v, want %+v", dropped, tc.wantDropped)
			}
		})
	}
}

func TestEmptyLinesAreNotFree(t *testing.T) {
	// `yes ''`: a million empty lines must cost what they take.
	s := NewStore(Options{Budget: 8 << 20, HeadBytes: 1 << 20, TailBytes: 1 << 20})
	l := s.Open("u")
	for range 1_000_000 {
		l.Append(Line{Stream: "stdout"})
	}
	if got := s.Bytes(); got > 2<<20+2*LineOverhead+len(NoticeFull) {
		t.Fatalf("the store holds %d bytes for one Run, over its head and tail", got)
	}
	_, dropped := l.Seal(time.Now(), 0)
	kept := int64(2 << 20 / LineOverhead)
	if dropped.Lines < 1_000_000-kept || dropped.Bytes != 0 {
		t.Fatalf("dropped = %+v, want about %d empty lines", dropped, 1_000_000-kept)
	}
}

func TestStoreBudgetCoversAllRuns(t *testing.T) {
	const budget = 1 << 20
	s := NewStore(Options{Budget: budget, HeadBytes: 256 << 10, TailBytes: 256 << 10})
	text := strings.Repeat("x", 1000)
	fill := func(uid string) *Log {
		l := s.Open(types.UID(uid))
		for range 1000 {
			l.Append(Line{Stream: "stdout", Text: text})
		}
		return l
	}
	// Finished Runs make room for new ones, oldest first.
	for i := range 6 {
		uid := fmt.Sprintf("done-%d", i)
		l := fill(uid)
		l.Seal(time.Now(), 0)
		s.Finish(types.UID(uid))
		if s.Bytes() > budget {
			t.Fatalf("after %s the store holds %d bytes, over its budget %d", uid, s.Bytes(), budget)
		}
	}
	if s.Get("done-0") != nil || s.Get("done-5") == nil {
		t.Error("want the oldest finished logs evicted first and the newest kept")
	}
	// Live Runs cannot evict each other: the one that has no room drops.
	var live []*Log
	for i := range 4 {
		live = append(live, fill(fmt.Sprintf("live-%d", i)))
	}
	if s.Bytes() > budget {
		t.Fatalf("live Runs hold %d bytes, over the budget %d", s.Bytes(), budget)
	}
	if _, dropped := live[3].Seal(time.Now(), 0); dropped.Lines == 0 {
		t.Error("the last live Run dropped nothing although the budget was spent")
	}
}

func TestStoreEvictsOldestFinished(t *testing.T) {
	s := NewStore(Options{MaxFinished: 1})
	s.Open("a")
	s.Finish("a")
	s.Open("b")
	s.Finish("b")
	if s.Get("a") != nil || s.Get("b") == nil {
		t.Fatal("want only the newest finished log kept")
	}
}

func TestResetGivesTheBytesBack(t *testing.T) {
	s := NewStore(Options{})
	l := s.Open("u")
	l.Append(Line{Text: "one"})
	l.Reset()
	if s.Bytes() != 0 || len(texts(t, l)) != 0 {
		t.Fatalf("after Reset the store holds %d bytes", s.Bytes())
	}
}
