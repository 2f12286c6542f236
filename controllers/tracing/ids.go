package tracing

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"strings"

	"go.opentelemetry.io/otel/trace"
)

// TraceID is a WorkflowRun's trace: a hash of its UID, so every pass of
// every controller, before and after a restart, names the same trace.
func TraceID(uid string) trace.TraceID {
	var id trace.TraceID
	sum := sha256.Sum256([]byte("krt.dev/trace\x00" + uid))
	copy(id[:], sum[:])
	return id
}

// SpanID names one span of a run's trace: the run itself (no parts), a
// node, or a phase of a node's Run. The same parts give the same ID, so a
// span emitted twice is one span to the backend, not two.
func SpanID(uid string, parts ...string) trace.SpanID {
	var id trace.SpanID
	sum := sha256.Sum256([]byte("krt.dev/span\x00" + uid + "\x00" + strings.Join(parts, "\x00")))
	copy(id[:], sum[:])
	return id
}

// Traceparent is the W3C traceparent of a span, sampled: the header (or
// annotation) that lets whatever reads it join the trace.
func Traceparent(tid trace.TraceID, sid trace.SpanID) string {
	return "00-" + tid.String() + "-" + sid.String() + "-01"
}

type idsKey struct{}

type ids struct {
	trace trace.TraceID
	span  trace.SpanID
}

// withIDs tells the generator which IDs the next span takes.
func withIDs(ctx context.Context, tid trace.TraceID, sid trace.SpanID) context.Context {
	return context.WithValue(ctx, idsKey{}, ids{tid, sid})
}

// generator hands out the IDs the context asks for, and random ones
// otherwise: the SDK has no other way to give a span a chosen ID.
type generator struct{}

func (generator) NewIDs(ctx context.Context) (trace.TraceID, trace.SpanID) {
	if v, ok := ctx.Value(idsKey{}).(ids); ok {
		return v.trace, v.span
	}
	var tid trace.TraceID
	_, _ = rand.Read(tid[:])
	return tid, generator{}.NewSpanID(ctx, tid)
}

func (generator) NewSpanID(ctx context.Context, _ trace.TraceID) trace.SpanID {
	if v, ok := ctx.Value(idsKey{}).(ids); ok {
		return v.span
	}
	var sid trace.SpanID
	_, _ = rand.Read(sid[:])
	return sid
}
