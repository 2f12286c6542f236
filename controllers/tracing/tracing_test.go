package tracing

import (
	"context"
	"fmt"
	"testing"
	"time"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
)

// Tracing is on only when the environment names an OTLP endpoint or
// exporter, and off again when it says none.
func TestEnabled(t *testing.T) {
	for _, tc := range []struct {
		env  map[string]string
		want bool
	}{
		{map[string]string{}, false},
		{map[string]string{"OTEL_SERVICE_NAME": "x"}, false},
		{map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4318"}, true},
		{map[string]string{"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://c:4318"}, true},
		{map[string]string{"OTEL_TRACES_EXPORTER": "otlp"}, true},
		{map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4318", "OTEL_TRACES_EXPORTER": "none"}, false},
		{map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4318", "OTEL_SDK_DISABLED": "true"}, false},
	} {
		for _, k := range []string{"OTEL_SERVICE_NAME", "OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
			"OTEL_TRACES_EXPORTER", "OTEL_SDK_DISABLED"} {
			t.Setenv(k, tc.env[k])
		}
		if got := Enabled(); got != tc.want {
			t.Errorf("Enabled() with %v = %v, want %v", tc.env, got, tc.want)
		}
	}
}

// A span takes the IDs, parent and times it is given, however often it is
// emitted: the same run gives the same trace.
func TestEmitIsDeterministic(t *testing.T) {
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec), sdktrace.WithIDGenerator(generator{}))
	tr := &Tracer{t: tp.Tracer("test")}
	tid, root, node := TraceID("uid-1"), SpanID("uid-1"), SpanID("uid-1", "node", "build")
	start := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	for range 2 {
		tr.Emit(context.Background(), tid, Span{Name: "root", ID: root, Start: start, End: start.Add(time.Minute)})
		tr.Emit(context.Background(), tid, Span{Name: "node", ID: node, Parent: root, Start: start, End: start.Add(time.Second)})
	}
	spans := rec.Ended()
	if len(spans) != 4 {
		t.Fatalf("%d spans", len(spans))
	}
	for i, s := range spans {
		wantID, wantParent := root, trace.SpanID{}
		if i%2 == 1 {
			wantID, wantParent = node, root
		}
		if s.SpanContext().TraceID() != tid || s.SpanContext().SpanID() != wantID || s.Parent().SpanID() != wantParent {
			t.Errorf("span %d: trace %s span %s parent %s", i, s.SpanContext().TraceID(), s.SpanContext().SpanID(), s.Parent().SpanID())
		}
		if !s.StartTime().Equal(start) {
			t.Errorf("span %d starts %s, want %s", i, s.StartTime(), start)
		}
	}
	if TraceID("uid-1") == TraceID("uid-2") || SpanID("uid-1", "node", "a") == SpanID("uid-1", "node", "b") {
		t.Error("different runs or nodes share an ID")
	}
	if got := Traceparent(tid, node); got != "00-"+tid.String()+"-"+node.String()+"-01" {
		t.Errorf("traceparent %s", got)
	}
}

// A sampled ratio keeps or drops a trace whole: the root and a node of
// one run are decided alike, as their trace ID decides.
func TestSamplerKeepsWholeTraces(t *testing.T) {
	t.Setenv("OTEL_TRACES_SAMPLER", "parentbased_traceidratio")
	t.Setenv("OTEL_TRACES_SAMPLER_ARG", "0.5")
	sampler, err := samplerFromEnv()
	if err != nil {
		t.Fatal(err)
	}
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec), sdktrace.WithIDGenerator(generator{}),
		sdktrace.WithSampler(sampler))
	tr := &Tracer{t: tp.Tracer("test")}
	now := time.Now()
	kept := map[trace.TraceID]int{}
	for i := range 40 {
		uid := fmt.Sprint("uid-", i)
		tid := TraceID(uid)
		tr.Emit(context.Background(), tid, Span{Name: "node", ID: SpanID(uid, "node", "a"), Parent: SpanID(uid), Start: now, End: now})
		tr.Emit(context.Background(), tid, Span{Name: "root", ID: SpanID(uid), Start: now, End: now})
		kept[tid] += 0
	}
	got := map[trace.TraceID]int{}
	for _, s := range rec.Ended() {
		got[s.SpanContext().TraceID()]++
	}
	for tid, n := range got {
		if n != 2 {
			t.Errorf("trace %s kept %d of its 2 spans", tid, n)
		}
	}
	if len(got) == 0 || len(got) == len(kept) {
		t.Errorf("a ratio of 0.5 kept %d of %d traces", len(got), len(kept))
	}
	t.Setenv("OTEL_TRACES_SAMPLER", "jaeger_remote")
	if _, err := samplerFromEnv(); err == nil {
		t.Error("an unsupported sampler is accepted")
	}
}
