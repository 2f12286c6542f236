// Package tracing exports krt's OpenTelemetry traces over OTLP, set up
// from the standard OTEL_* environment, and emits spans whose IDs and
// times come from what the API objects recorded, not from when a
// controller happened to see them.
package tracing

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
)

// Enabled says whether the environment asks for traces: an OTLP endpoint,
// or OTEL_TRACES_EXPORTER=otlp, and neither OTEL_SDK_DISABLED=true nor
// OTEL_TRACES_EXPORTER=none.
func Enabled() bool {
	if strings.EqualFold(os.Getenv("OTEL_SDK_DISABLED"), "true") {
		return false
	}
	switch os.Getenv("OTEL_TRACES_EXPORTER") {
	case "otlp":
		return true
	case "":
		return os.Getenv("OTEL_EXPORTER_OTLP_ENDPOINT") != "" || os.Getenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") != ""
	}
	return false // "none", or an exporter krt does not ship
}

// Setup returns a Tracer exporting over OTLP as the environment says,
// and the function that flushes it at exit; a nil Tracer when tracing is
// off, so callers skip all the work. service is service.name unless
// OTEL_SERVICE_NAME says otherwise.
func Setup(ctx context.Context, service string) (*Tracer, func(context.Context) error, error) {
	if !Enabled() {
		return nil, func(context.Context) error { return nil }, nil
	}
	exp, err := exporter(ctx)
	if err != nil {
		return nil, nil, fmt.Errorf("OTLP trace exporter: %w", err)
	}
	res, err := resource.New(ctx, resource.WithAttributes(attribute.String("service.name", service)),
		resource.WithFromEnv(), resource.WithTelemetrySDK())
	if err != nil {
		return nil, nil, fmt.Errorf("trace resource: %w", err)
	}
	sampler, err := samplerFromEnv()
	if err != nil {
		return nil, nil, err
	}
	tp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(exp), sdktrace.WithResource(res),
		sdktrace.WithIDGenerator(generator{}), sdktrace.WithSampler(sampler))
	return &Tracer{t: tp.Tracer("krt.dev/krt")}, tp.Shutdown, nil
}

// samplerFromEnv keeps whole traces or none: a ratio is decided on the
// trace ID alone, for every span, since a node's span is emitted before
// its root and names it as a sampled remote parent (a parent-based
// sampler would keep every node and drop roots). OTEL_TRACES_SAMPLER may
// be always_on (the default), always_off, or traceidratio with
// OTEL_TRACES_SAMPLER_ARG; the parentbased_ forms mean the same here.
func samplerFromEnv() (sdktrace.Sampler, error) {
	name := strings.TrimPrefix(os.Getenv("OTEL_TRACES_SAMPLER"), "parentbased_")
	switch name {
	case "", "always_on":
		return sdktrace.AlwaysSample(), nil
	case "always_off":
		return sdktrace.NeverSample(), nil
	case "traceidratio":
		ratio := 1.0
		if arg := os.Getenv("OTEL_TRACES_SAMPLER_ARG"); arg != "" {
			var err error
			if ratio, err = strconv.ParseFloat(arg, 64); err != nil || ratio < 0 || ratio > 1 {
				return nil, fmt.Errorf("OTEL_TRACES_SAMPLER_ARG %q is not a ratio between 0 and 1", arg)
			}
		}
		return sdktrace.TraceIDRatioBased(ratio), nil
	}
	return nil, fmt.Errorf("OTEL_TRACES_SAMPLER %q is not supported (always_on, always_off, traceidratio)", name)
}

// exporter speaks OTLP over gRPC or HTTP, per OTEL_EXPORTER_OTLP_PROTOCOL
// (http/protobuf by default, as the specification says); each reads its
// endpoint, headers, TLS and timeout from the environment itself.
func exporter(ctx context.Context) (sdktrace.SpanExporter, error) {
	proto := os.Getenv("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL")
	if proto == "" {
		proto = os.Getenv("OTEL_EXPORTER_OTLP_PROTOCOL")
	}
	switch proto {
	case "grpc":
		return otlptracegrpc.New(ctx)
	case "", "http/protobuf":
		return otlptracehttp.New(ctx)
	}
	return nil, fmt.Errorf("OTLP protocol %q is not supported (grpc or http/protobuf)", proto)
}

// Tracer emits finished spans.
type Tracer struct{ t trace.Tracer }

// Span is one finished span of a trace. Parent is zero for the root.
type Span struct {
	Name       string
	ID, Parent trace.SpanID
	Start, End time.Time
	Attrs      []attribute.KeyValue
	// Failed marks the span's status as an error, with Failed as the
	// description.
	Failed string
}

// Emit records s in trace tid, with its recorded times.
func (t *Tracer) Emit(ctx context.Context, tid trace.TraceID, s Span) {
	if t == nil {
		return
	}
	if s.Parent.IsValid() {
		ctx = trace.ContextWithRemoteSpanContext(ctx, trace.NewSpanContext(trace.SpanContextConfig{
			TraceID: tid, SpanID: s.Parent, TraceFlags: trace.FlagsSampled, Remote: true}))
	} else {
		ctx = trace.ContextWithSpanContext(ctx, trace.SpanContext{}) // a root, whatever ctx held
	}
	end := s.End
	if end.Before(s.Start) {
		end = s.Start // clocks of two clusters may disagree
	}
	_, span := t.t.Start(withIDs(ctx, tid, s.ID), s.Name, trace.WithTimestamp(s.Start),
		trace.WithAttributes(s.Attrs...), trace.WithSpanKind(trace.SpanKindInternal))
	if s.Failed != "" {
		span.SetStatus(codes.Error, s.Failed)
	}
	span.End(trace.WithTimestamp(end))
}
