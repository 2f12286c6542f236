package runtimed

import (
	"fmt"
	"strings"
	"time"

	runtimev1 "krt.dev/krt/api/runtime/v1"
	krtv1 "krt.dev/krt/api/v1alpha1"
	"krt.dev/krt/runtimed/logs"
	"krt.dev/krt/runtimed/mask"
)

// collector turns the Execute stream into masked log lines, a stderr tail
// and, at the end, a result.
type collector struct {
	a       *Agent
	run     *krtv1.Run
	masker  *mask.Masker
	log     *logs.Log
	streams []*outStream // stdout, then stderr
	tail    []string
	outputs *runtimev1.Outputs
	exit    *runtimev1.Exit
	// offset is how much output has arrived, to attach again from there.
	offset int64
	// lost is the output the Runtime Server dropped before we read it;
	// dropped is what the log store had no room for.
	lost    int64
	dropped logs.Dropped
}

// outStream is one of the process's output streams. It is masked as bytes,
// before it is cut into lines, so that no cut can split a secret.
type outStream struct {
	name  string
	mask  *mask.Stream
	split logs.Splitter
}

func newCollector(a *Agent, run *krtv1.Run, m *mask.Masker, log *logs.Log) *collector {
	return &collector{a: a, run: run, masker: m, log: log, streams: []*outStream{
		{name: "stdout", mask: m.Stream()},
		{name: "stderr", mask: m.Stream()},
	}}
}

func (c *collector) event(ev *runtimev1.ExecuteEvent) {
	switch e := ev.Event.(type) {
	case *runtimev1.ExecuteEvent_Log:
		data, at := e.Log.GetData(), e.Log.GetOffset()
		switch {
		case at > c.offset:
			c.gap(at - c.offset)
		case at < c.offset: // already read: take only what is new
			data = data[min(c.offset-at, int64(len(data))):]
		}
		st := c.streams[0]
		if e.Log.GetStream() == runtimev1.Stream_STREAM_STDERR {
			st = c.streams[1]
		}
		c.lines(st, st.split.Write(st.mask.Write(data)))
		c.offset = max(c.offset, at+int64(len(e.Log.GetData())))
	case *runtimev1.ExecuteEvent_Outputs:
		c.outputs = e.Outputs
	case *runtimev1.ExecuteEvent_Exit:
		c.exit = e.Exit
	}
}

// gap handles output that the Runtime Server dropped because we fell too
// far behind: each stream ends its line there, the masker treats both
// sides of the cut as possibly part of a secret, and the log says so.
func (c *collector) gap(n int64) {
	for _, st := range c.streams {
		c.lines(st, st.split.Write(st.mask.Gap()))
		c.lines(st, st.split.Flush())
	}
	c.lost += n
	c.note(fmt.Sprintf("krt: %d bytes of output lost: runtimed fell behind and the runtime server's buffer overflowed", n))
}

// flush ends the output: the rest of each stream, then the newest lines the
// log held back, after a line saying what was dropped.
func (c *collector) flush() {
	for _, st := range c.streams {
		c.lines(st, st.split.Write(st.mask.Flush()))
		c.lines(st, st.split.Flush())
	}
	sealed, dropped := c.log.Seal(time.Now(), c.run.Status.Attempt)
	for _, line := range sealed {
		c.a.out.write(c.run, line)
	}
	c.dropped = dropped
}

func (c *collector) lines(st *outStream, texts []string) {
	for _, text := range texts {
		if st.name == "stderr" {
			c.tail = append(c.tail, text)
			if len(c.tail) > tailLines {
				c.tail = c.tail[1:]
			}
		}
		c.append(logs.Line{Time: time.Now(), Attempt: c.run.Status.Attempt, Stream: st.name, Text: text})
	}
}

// note writes a line of runtimed's own into the Run's log.
func (c *collector) note(text string) {
	c.append(logs.Line{Time: time.Now(), Attempt: c.run.Status.Attempt, Stream: logs.StreamKrt, Text: text})
}

// append keeps a line within the log's budget and writes what the log
// shows now to runtimed's container log, so that both hold the same lines.
func (c *collector) append(line logs.Line) {
	for _, shown := range c.log.Append(line) {
		c.a.out.write(c.run, shown)
	}
}

// logNote tells, for the Run's message, what its log lacks.
func (c *collector) logNote() string {
	var b strings.Builder
	if c.dropped.Lines > 0 {
		b.WriteString("; output " + c.dropped.String())
	}
	if c.lost > 0 {
		fmt.Fprintf(&b, "; %d bytes of output lost before runtimed read them", c.lost)
	}
	return b.String()
}
