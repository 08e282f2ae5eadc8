package lineageprocessor

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/processor"
	"go.opentelemetry.io/collector/processor/processortest"
)

type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newFakeClock() *fakeClock { return &fakeClock{t: time.Unix(1_795_676_000, 0)} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

type harness struct {
	t     testing.TB
	p     *lineageProcessor
	sink  *consumertest.TracesSink
	logs  *consumertest.LogsSink
	clock *fakeClock
	in    int
}

// newHarness builds a processor with a fake clock. It is not started: tests drive expiry with
// advance(), which calls the ticker's work directly.
func newHarness(t testing.TB, mutate func(*Config)) *harness {
	cfg := createDefaultConfig().(*Config)
	if mutate != nil {
		mutate(cfg)
	}
	require.NoError(t, cfg.Validate())
	sink := &consumertest.TracesSink{}
	clk := newFakeClock()
	p, err := newLineageProcessor(processortest.NewNopSettings(componentType), cfg, sink, clk)
	require.NoError(t, err)
	logs := &consumertest.LogsSink{}
	p.nextLogs = logs
	return &harness{t: t, p: p, sink: sink, logs: logs, clock: clk}
}

func (h *harness) feedLogs(ld plog.Logs) {
	require.NoError(h.t, h.p.ConsumeLogs(context.Background(), ld))
}

// logsOut returns every log record passed on so far by its body.
func (h *harness) logsOut() map[string]plog.LogRecord {
	m := map[string]plog.LogRecord{}
	for _, ld := range h.logs.AllLogs() {
		forEachLog(ld, func(_ pcommon.Resource, r plog.LogRecord) { m[r.Body().Str()] = r })
	}
	return m
}

func forEachLog(ld plog.Logs, fn func(pcommon.Resource, plog.LogRecord)) {
	for i := 0; i < ld.ResourceLogs().Len(); i++ {
		rl := ld.ResourceLogs().At(i)
		for j := 0; j < rl.ScopeLogs().Len(); j++ {
			recs := rl.ScopeLogs().At(j).LogRecords()
			for k := 0; k < recs.Len(); k++ {
				fn(rl.Resource(), recs.At(k))
			}
		}
	}
}

// logOf is a log record with the given body in span (trace, span); trace 0: no trace context.
func logOf(body string, trace, span byte) plog.Logs {
	ld := plog.NewLogs()
	rl := ld.ResourceLogs().AppendEmpty()
	rl.Resource().Attributes().PutStr("service.name", "withdrawal-processor")
	r := rl.ScopeLogs().AppendEmpty().LogRecords().AppendEmpty()
	r.Body().SetStr(body)
	if trace != 0 {
		r.SetTraceID(tid(trace))
		r.SetSpanID(sid(span))
	}
	return ld
}

func (h *harness) feed(td ptrace.Traces) {
	h.in += td.SpanCount()
	require.NoError(h.t, h.p.ConsumeTraces(context.Background(), td))
}

func (h *harness) advance(d time.Duration) {
	h.clock.Advance(d)
	h.p.tick(context.Background())
}

func (h *harness) shutdown() {
	require.NoError(h.t, h.p.Shutdown(context.Background()))
}

// out returns every ORIGINAL span passed on so far by span id (synthesized state-store spans
// are left out: spans in == spans out is about the originals).
func (h *harness) out() map[pcommon.SpanID]ptrace.Span {
	m := map[pcommon.SpanID]ptrace.Span{}
	for _, td := range h.sink.AllTraces() {
		forEachSpan(td, func(_ pcommon.Resource, s ptrace.Span) {
			if !isSynthesized(s) {
				m[s.SpanID()] = s
			}
		})
	}
	return m
}

// synthOut returns the synthesized spans passed on so far by span id.
func (h *harness) synthOut() map[pcommon.SpanID]ptrace.Span {
	m := map[pcommon.SpanID]ptrace.Span{}
	for _, td := range h.sink.AllTraces() {
		forEachSpan(td, func(_ pcommon.Resource, s ptrace.Span) {
			if isSynthesized(s) {
				m[s.SpanID()] = s
			}
		})
	}
	return m
}

func isSynthesized(s ptrace.Span) bool {
	_, ok := s.Attributes().Get(attrDerivedFrom)
	return ok
}

func forEachSpan(td ptrace.Traces, fn func(pcommon.Resource, ptrace.Span)) {
	for i := 0; i < td.ResourceSpans().Len(); i++ {
		rs := td.ResourceSpans().At(i)
		for j := 0; j < rs.ScopeSpans().Len(); j++ {
			ss := rs.ScopeSpans().At(j)
			for k := 0; k < ss.Spans().Len(); k++ {
				fn(rs.Resource(), ss.Spans().At(k))
			}
		}
	}
}

// ts is a test span.
type ts struct {
	service string
	trace   byte
	span    byte
	parent  byte // 0: root
	kind    ptrace.SpanKind
	thread  string
	topic   string
	part    string
	offset  int64
}

func tid(b byte) pcommon.TraceID { return pcommon.TraceID{0xaa, 15: b} }
func sid(b byte) pcommon.SpanID  { return pcommon.SpanID{0xbb, 7: b} }

func tracesOf(spans ...ts) ptrace.Traces {
	td := ptrace.NewTraces()
	for _, s := range spans {
		rs := td.ResourceSpans().AppendEmpty()
		rs.Resource().Attributes().PutStr("service.name", s.service)
		rs.Resource().Attributes().PutStr("kafka.cluster.name", "dc1")
		ss := rs.ScopeSpans().AppendEmpty()
		ss.Scope().SetName("io.opentelemetry.kafka-clients-0.11")
		sp := ss.Spans().AppendEmpty()
		sp.SetTraceID(tid(s.trace))
		sp.SetSpanID(sid(s.span))
		if s.parent != 0 {
			sp.SetParentSpanID(sid(s.parent))
		}
		sp.SetKind(s.kind)
		sp.SetName(s.topic + " op")
		thread := s.thread
		if thread == "" {
			thread = "main"
		}
		sp.Attributes().PutStr(attrThreadName, thread)
		if s.topic != "" {
			sp.Attributes().PutStr(attrDestination, s.topic)
			sp.Attributes().PutStr(attrPartition, s.part)
			sp.Attributes().PutInt(attrOffsetOld, s.offset)
			sp.Attributes().PutStr(attrClusterID, "cluster-1")
		}
	}
	return td
}

const streamThread = "withdrawal-processor-0d7c-StreamThread-1"

func prod(service string, trace, span, parent byte, thread, topic string, off int64) ts {
	return ts{service, trace, span, parent, ptrace.SpanKindProducer, thread, topic, "0", off}
}

func cons(service string, trace, span, parent byte, thread, topic string, off int64) ts {
	return ts{service, trace, span, parent, ptrace.SpanKindConsumer, thread, topic, "0", off}
}

func strAttr(s ptrace.Span, k string) string {
	v, ok := s.Attributes().Get(k)
	if !ok {
		return ""
	}
	return v.Str()
}

func processortestSettings() processor.Settings { return processortest.NewNopSettings(componentType) }

// synthCount counts the spans of td under the processor's own scope (the synthesized spans; tests).
func synthCount(td ptrace.Traces) int {
	n := 0
	for i := 0; i < td.ResourceSpans().Len(); i++ {
		sss := td.ResourceSpans().At(i).ScopeSpans()
		for j := 0; j < sss.Len(); j++ {
			if sss.At(j).Scope().Name() == scopeName {
				n += sss.At(j).Spans().Len()
			}
		}
	}
	return n
}
