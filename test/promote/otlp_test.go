package promote

import (
	"context"
	"encoding/hex"
	"net"
	"os"
	"strconv"
	"sync"

	collectortrace "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	"google.golang.org/grpc"
)

// receivedSpan is a span as the OTLP receiver got it, in the words a
// tracing backend would show it.
type receivedSpan struct {
	service, trace, id, parent, name string
	attrs                            map[string]string
}

// otlpReceiver is an OTLP/gRPC collector in the test process: the hub's
// controller exports its traces here, as it would to a real collector.
type otlpReceiver struct {
	collectortrace.UnimplementedTraceServiceServer
	addr  string
	srv   *grpc.Server
	mu    sync.Mutex
	spans []receivedSpan
}

var otlp *otlpReceiver

// startOTLP listens on 127.0.0.1 and points every krt-controller the
// tests start at it, through the standard environment.
func startOTLP() (*otlpReceiver, error) {
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	r := &otlpReceiver{addr: lis.Addr().String(), srv: grpc.NewServer()}
	collectortrace.RegisterTraceServiceServer(r.srv, r)
	go func() { _ = r.srv.Serve(lis) }()
	for k, v := range map[string]string{
		"OTEL_EXPORTER_OTLP_ENDPOINT": "http://" + r.addr,
		"OTEL_EXPORTER_OTLP_PROTOCOL": "grpc",
		// Spans are sent within 100ms rather than the default 5s.
		"OTEL_BSP_SCHEDULE_DELAY": "100",
	} {
		if err := os.Setenv(k, v); err != nil {
			return nil, err
		}
	}
	return r, nil
}

func (r *otlpReceiver) Export(_ context.Context, req *collectortrace.ExportTraceServiceRequest) (*collectortrace.ExportTraceServiceResponse, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, rs := range req.GetResourceSpans() {
		service := ""
		for _, kv := range rs.GetResource().GetAttributes() {
			if kv.GetKey() == "service.name" {
				service = kv.GetValue().GetStringValue()
			}
		}
		for _, ss := range rs.GetScopeSpans() {
			for _, s := range ss.GetSpans() {
				attrs := map[string]string{}
				for _, kv := range s.GetAttributes() {
					v := kv.GetValue()
					attrs[kv.GetKey()] = v.GetStringValue()
					if i, ok := v.GetValue().(*commonpb.AnyValue_IntValue); ok {
						attrs[kv.GetKey()] = strconv.FormatInt(i.IntValue, 10)
					}
				}
				r.spans = append(r.spans, receivedSpan{service: service, trace: hex.EncodeToString(s.GetTraceId()),
					id: hex.EncodeToString(s.GetSpanId()), parent: hex.EncodeToString(s.GetParentSpanId()),
					name: s.GetName(), attrs: attrs})
			}
		}
	}
	return &collectortrace.ExportTraceServiceResponse{}, nil
}

// received returns the spans so far.
func (r *otlpReceiver) received() []receivedSpan {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]receivedSpan(nil), r.spans...)
}
