// Package logs keeps the recent output of this pod's Runs in memory and
// serves it, live, to `krt logs -f`. Full logs never go into a Run's status;
// they live here and, as JSON lines, in runtimed's own container log.
//
// Memory is bounded by real bytes: each line costs its text plus
// LineOverhead, so that empty lines are not free, and all logs together stay
// within Options.Budget, well under runtimed's memory limit. Each Run keeps
// the first HeadBytes of its output as it comes and, past that, only its
// newest TailBytes; the lines in between are dropped, and the log says so in
// a line of its own where they were.
package logs

import (
	"context"
	"fmt"
	"sync"
	"time"

	"k8s.io/apimachinery/pkg/types"
)

// LineOverhead is what one kept line costs beyond its text: the Line value,
// its slot in a slice that grows by a quarter, and allocation rounding.
const LineOverhead = 128

// StreamKrt marks the lines runtimed itself writes into a Run's log.
const StreamKrt = "krt"

// Line is one line of a Run's output, already masked.
type Line struct {
	Time    time.Time `json:"time"`
	Attempt int32     `json:"attempt"`
	Stream  string    `json:"stream"`
	Text    string    `json:"line"`
}

func (l Line) cost() int { return len(l.Text) + LineOverhead }

// Dropped counts the lines of a Run that were not kept.
type Dropped struct {
	Lines, Bytes int64
}

func (d Dropped) String() string {
	return fmt.Sprintf("%d lines (%d bytes) dropped: log buffer full", d.Lines, d.Bytes)
}

// NoticeFull is written where a Run's log starts dropping lines.
const NoticeFull = "krt: log buffer full: lines are dropped from here on; the last lines follow when the step ends"

// Options bounds a Store.
type Options struct {
	// Budget bounds all logs together, finished and live.
	Budget int
	// HeadBytes of each Run's output are kept as they come; past them,
	// only the newest TailBytes.
	HeadBytes, TailBytes int
	// MaxFinished is how many finished Runs' logs are kept at most.
	MaxFinished int
}

// Defaults: 32 MiB in all stays well under runtimed's 256 Mi memory limit,
// even with the garbage collector's headroom doubling it.
const (
	DefaultBudget    = 32 << 20
	DefaultHeadBytes = 1 << 20
	DefaultTailBytes = 1 << 20
)

// Store holds the logs of the Runs this pod executed.
type Store struct {
	opts     Options
	mu       sync.Mutex // guards logs, finished and total; taken before any Log's
	logs     map[types.UID]*Log
	finished []types.UID // oldest first
	total    int
}

// NewStore returns an empty Store.
func NewStore(opts Options) *Store {
	if opts.Budget == 0 {
		opts.Budget = DefaultBudget
	}
	if opts.HeadBytes == 0 {
		opts.HeadBytes = DefaultHeadBytes
	}
	if opts.TailBytes == 0 {
		opts.TailBytes = DefaultTailBytes
	}
	if opts.MaxFinished == 0 {
		opts.MaxFinished = 512
	}
	return &Store{opts: opts, logs: map[types.UID]*Log{}}
}

// Open returns the log of a Run, creating it if needed. A retried attempt
// appends to the same log.
func (s *Store) Open(uid types.UID) *Log {
	s.mu.Lock()
	defer s.mu.Unlock()
	l, ok := s.logs[uid]
	if !ok {
		l = &Log{store: s, changed: make(chan struct{})}
		s.logs[uid] = l
	}
	l.mu.Lock()
	l.done = false
	l.mu.Unlock()
	return l
}

// Get returns a Run's log, or nil.
func (s *Store) Get(uid types.UID) *Log {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.logs[uid]
}

// Bytes is what all logs cost together.
func (s *Store) Bytes() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.total
}

// Finish marks a Run's log complete, so followers stop, and evicts the
// oldest finished logs beyond the limit.
func (s *Store) Finish(uid types.UID) {
	s.mu.Lock()
	defer s.mu.Unlock()
	l, ok := s.logs[uid]
	if !ok {
		return
	}
	l.finish()
	s.finished = append(s.finished, uid)
	for len(s.finished) > s.opts.MaxFinished {
		s.evictOldest(nil)
	}
}

// makeRoom evicts finished logs, oldest first, until cost more fits in the
// budget, and reports whether it does. s.mu and self's lock are held.
func (s *Store) makeRoom(self *Log, cost int) bool {
	for s.total+cost > s.opts.Budget && len(s.finished) > 0 {
		s.evictOldest(self)
	}
	return s.total+cost <= s.opts.Budget
}

func (s *Store) evictOldest(self *Log) {
	uid := s.finished[0]
	s.finished = s.finished[1:]
	// A log that was opened again for a retry is live: it is listed again
	// when it finishes.
	if l := s.logs[uid]; l != nil && l != self && l.isDone() {
		s.total -= l.size()
		delete(s.logs, uid)
	}
}

// Log is one Run's output: the lines followers see, and once the head is
// full, the newest lines held back until the attempt ends.
type Log struct {
	store   *Store
	mu      sync.Mutex
	lines   []Line
	first   int // index of lines[0] since the start, after a Reset
	bytes   int // cost of lines
	tail    []Line
	tailB   int // cost of tail
	full    bool
	dropped Dropped
	done    bool
	changed chan struct{}
}

func (l *Log) size() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.bytes + l.tailB
}

// Reset drops the lines kept so far, for an output that is about to be
// replayed from its start.
func (l *Log) Reset() {
	l.store.mu.Lock()
	defer l.store.mu.Unlock()
	l.mu.Lock()
	defer l.mu.Unlock()
	l.store.total -= l.bytes + l.tailB
	l.first += len(l.lines)
	l.lines, l.bytes, l.tail, l.tailB = nil, 0, nil, 0
	l.full, l.dropped = false, Dropped{}
}

// Append adds a line within the budgets. It returns the lines that
// followers see now, to be written wherever else the log goes: the line
// itself, the notice that the log is full, or nothing while lines are held
// back or dropped.
func (l *Log) Append(line Line) []Line {
	s := l.store
	s.mu.Lock()
	defer s.mu.Unlock()
	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.full && l.bytes+line.cost() <= s.opts.HeadBytes && s.makeRoom(l, line.cost()) {
		l.show(line)
		return []Line{line}
	}
	var out []Line
	if !l.full {
		l.full = true
		notice := Line{Time: line.Time, Attempt: line.Attempt, Stream: StreamKrt, Text: NoticeFull}
		if s.makeRoom(l, notice.cost()) {
			l.show(notice)
			out = append(out, notice)
		}
	}
	l.hold(line)
	return out
}

// show appends a line that followers see. Both locks are held.
func (l *Log) show(line Line) {
	l.lines = append(l.lines, line)
	l.bytes += line.cost()
	l.store.total += line.cost()
	l.wake()
}

// hold keeps a line among the newest, dropping the oldest held lines to
// make room. Both locks are held.
func (l *Log) hold(line Line) {
	s, cost := l.store, line.cost()
	fits := func() bool { return l.tailB+cost <= s.opts.TailBytes && s.makeRoom(l, cost) }
	for len(l.tail) > 0 && !fits() {
		l.dropOldest()
	}
	if !fits() {
		l.count(line)
		return
	}
	l.tail = append(l.tail, line)
	l.tailB += cost
	s.total += cost
}

// dropOldest drops the oldest held line. Both locks are held.
func (l *Log) dropOldest() {
	old := l.tail[0]
	l.tail[0] = Line{}
	l.tail = l.tail[1:]
	l.tailB -= old.cost()
	l.store.total -= old.cost()
	l.count(old)
}

func (l *Log) count(dropped Line) {
	l.dropped.Lines++
	l.dropped.Bytes += int64(len(dropped.Text))
}

// markerCost is more than the line that says what was dropped costs.
const markerCost = LineOverhead + 128

// Seal ends an attempt's output: the held-back newest lines become
// visible, after a line that says how many were dropped. It returns those
// lines, for wherever else the log goes, and what was dropped.
func (l *Log) Seal(now time.Time, attempt int32) ([]Line, Dropped) {
	l.store.mu.Lock()
	defer l.store.mu.Unlock()
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []Line
	if l.dropped.Lines > 0 {
		// The marker must fit in the budget too: it takes the place of the
		// oldest held lines if it has to.
		for len(l.tail) > 0 && !l.store.makeRoom(l, markerCost) {
			l.dropOldest()
		}
		marker := Line{Time: now, Attempt: attempt, Stream: StreamKrt, Text: "krt: " + l.dropped.String()}
		if l.store.makeRoom(l, marker.cost()) {
			l.show(marker)
			out = append(out, marker)
		}
	}
	dropped := l.dropped
	out = append(out, l.tail...)
	l.lines = append(l.lines, l.tail...)
	l.bytes += l.tailB
	l.tail, l.tailB, l.dropped = nil, 0, Dropped{}
	l.wake()
	return out, dropped
}

// wake tells followers that the log changed. l.mu is held.
func (l *Log) wake() {
	close(l.changed)
	l.changed = make(chan struct{})
}

func (l *Log) finish() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.done = true
	l.wake()
}

func (l *Log) isDone() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.done
}

// Follow calls fn for each line from the start (or what is left of it) and,
// if follow is set, for each new line until the log is finished or ctx ends.
func (l *Log) Follow(ctx context.Context, follow bool, fn func(Line) error) error {
	next := 0
	for {
		l.mu.Lock()
		if next < l.first {
			next = l.first
		}
		batch := append([]Line(nil), l.lines[next-l.first:]...)
		next += len(batch)
		done, changed := l.done, l.changed
		l.mu.Unlock()
		for _, line := range batch {
			if err := fn(line); err != nil {
				return err
			}
		}
		if len(batch) > 0 {
			continue
		}
		if done || !follow {
			return nil
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}
