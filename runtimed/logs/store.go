// Package logs keeps the recent output of this pod's Runs in memory and
// serves it, live, to `krt logs -f`. Full logs never go into a Run's status;
// they live here and, as JSON lines, in runtimed's own container log.
package logs

import (
	"context"
	"sync"
	"time"

	"k8s.io/apimachinery/pkg/types"
)

// Line is one line of a Run's output, already masked.
type Line struct {
	Time    time.Time `json:"time"`
	Attempt int32     `json:"attempt"`
	Stream  string    `json:"stream"`
	Text    string    `json:"line"`
}

// Options bounds a Store.
type Options struct {
	// MaxBytesPerRun keeps the newest lines of each Run up to this size.
	MaxBytesPerRun int
	// MaxFinished is how many finished Runs' logs are kept.
	MaxFinished int
}

// Store holds the logs of the Runs this pod executed.
type Store struct {
	opts     Options
	mu       sync.Mutex
	logs     map[types.UID]*Log
	finished []types.UID // oldest first
}

// NewStore returns an empty Store.
func NewStore(opts Options) *Store {
	if opts.MaxBytesPerRun == 0 {
		opts.MaxBytesPerRun = 4 << 20
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
		l = &Log{max: s.opts.MaxBytesPerRun, changed: make(chan struct{})}
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
		old := s.finished[0]
		s.finished = s.finished[1:]
		if o := s.logs[old]; o != nil && o.isDone() {
			delete(s.logs, old)
		}
	}
}

// Log is one Run's output.
type Log struct {
	mu      sync.Mutex
	lines   []Line
	first   int // index of lines[0] since the start, after trimming
	bytes   int
	max     int
	done    bool
	changed chan struct{}
}

// Reset drops the lines kept so far, for an output that is about to be
// replayed from its start.
func (l *Log) Reset() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.first += len(l.lines)
	l.lines, l.bytes = nil, 0
}

// Append adds a line and wakes followers.
func (l *Log) Append(line Line) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.lines = append(l.lines, line)
	l.bytes += len(line.Text)
	for l.bytes > l.max && len(l.lines) > 1 {
		l.bytes -= len(l.lines[0].Text)
		l.lines = l.lines[1:]
		l.first++
	}
	close(l.changed)
	l.changed = make(chan struct{})
}

func (l *Log) finish() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.done = true
	close(l.changed)
	l.changed = make(chan struct{})
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
