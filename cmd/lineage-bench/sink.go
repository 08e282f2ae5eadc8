package main

import (
	"context"
	"net"
	"slices"
	"sync"
	"time"

	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
	"google.golang.org/grpc"
)

// sentAttr carries the generator's send time (Unix ns) on every span; the sink subtracts it from
// the receive time. Every pipeline passes span attributes through unchanged.
const sentAttr = "bench.sent_unix_nano"

// synthScope is the instrumentation scope of the spans the lineage processor synthesizes
// (state-store puts): not counted as originals (spans in == spans out is about originals).
const synthScope = "github.com/eventlineage/lineage/processor/lineageprocessor"

// sink is the OTLP gRPC server the collector under test exports to.
type sink struct {
	ptraceotlp.UnimplementedGRPCServer
	srv  *grpc.Server
	addr string

	mu        sync.Mutex
	originals int
	synth     int
	latencies []time.Duration // receive - send, per original span
}

func startSink() (*sink, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	s := &sink{srv: grpc.NewServer(grpc.MaxRecvMsgSize(256 << 20)), addr: ln.Addr().String()}
	ptraceotlp.RegisterGRPCServer(s.srv, s)
	go func() { _ = s.srv.Serve(ln) }()
	return s, nil
}

func (s *sink) Export(_ context.Context, req ptraceotlp.ExportRequest) (ptraceotlp.ExportResponse, error) {
	now := time.Now().UnixNano()
	var orig, synth int
	var lat []time.Duration
	rss := req.Traces().ResourceSpans()
	for i := 0; i < rss.Len(); i++ {
		sss := rss.At(i).ScopeSpans()
		for j := 0; j < sss.Len(); j++ {
			spans := sss.At(j).Spans()
			if sss.At(j).Scope().Name() == synthScope {
				synth += spans.Len()
				continue
			}
			orig += spans.Len()
			for k := 0; k < spans.Len(); k++ {
				if v, ok := spans.At(k).Attributes().Get(sentAttr); ok {
					lat = append(lat, time.Duration(now-v.Int()))
				}
			}
		}
	}
	s.mu.Lock()
	s.originals += orig
	s.synth += synth
	s.latencies = append(s.latencies, lat...)
	s.mu.Unlock()
	return ptraceotlp.NewExportResponse(), nil
}

func (s *sink) counts() (originals, synth int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.originals, s.synth
}

// percentiles of the recorded latencies (p in [0,1]).
func (s *sink) percentiles(ps ...float64) []time.Duration {
	s.mu.Lock()
	l := slices.Clone(s.latencies)
	s.mu.Unlock()
	slices.Sort(l)
	out := make([]time.Duration, len(ps))
	if len(l) == 0 {
		return out
	}
	for i, p := range ps {
		out[i] = l[min(len(l)-1, int(p*float64(len(l))))]
	}
	return out
}

// over counts the latencies above d.
func (s *sink) over(d time.Duration) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, l := range s.latencies {
		if l > d {
			n++
		}
	}
	return n
}

func (s *sink) stop() { s.srv.Stop() }

// stamp sets the send time on every span of td.
func stamp(td ptrace.Traces) {
	now := time.Now().UnixNano()
	rss := td.ResourceSpans()
	for i := 0; i < rss.Len(); i++ {
		sss := rss.At(i).ScopeSpans()
		for j := 0; j < sss.Len(); j++ {
			spans := sss.At(j).Spans()
			for k := 0; k < spans.Len(); k++ {
				spans.At(k).Attributes().PutInt(sentAttr, now)
			}
		}
	}
}
