// Package loadgen replays captured span streams of the stock Java agent at a fixed rate: every
// replica of a capture is a distinct journey (fresh trace and span ids, record offsets shifted
// past every earlier replica, record keys made unique) sent with the capture's own per-JVM export
// requests and arrival offsets. It is the load generator of cmd/lineage-bench.
package loadgen

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
)

// Offset attributes (old and v1.43 conventions) shifted per replica, and the key attribute made
// unique per replica; on spans and on links.
const (
	attrOffset    = "messaging.kafka.message.offset"
	attrOffsetNew = "messaging.kafka.offset"
	attrKey       = "messaging.kafka.message.key"
)

// Request is one export request of the capture: one JVM's batch as the collector received it.
type Request struct {
	Service string
	// At is when the request arrived, relative to the capture's first span start: the latest
	// span end in the request, kept monotonic in file (= receive) order.
	At     time.Duration
	Traces ptrace.Traces
}

// Template is one parsed capture.
type Template struct {
	Name     string
	Requests []Request
	Spans    int
	// Duration is the arrival offset of the last request.
	Duration time.Duration
	// MaxOffset is the largest record offset in the capture (spans and links).
	MaxOffset int64

	t0       pcommon.Timestamp
	traceIdx map[pcommon.TraceID]uint64
	spanIdx  map[pcommon.SpanID]uint64
}

// LoadTemplate reads a capture's spans.jsonl (one OTLP/JSON TracesData per line).
func LoadTemplate(path string) (*Template, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	t := &Template{
		Name:     filepath.Base(filepath.Dir(path)),
		traceIdx: map[pcommon.TraceID]uint64{},
		spanIdx:  map[pcommon.SpanID]uint64{},
	}
	var um ptrace.JSONUnmarshaler
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 64<<20)
	var ends []pcommon.Timestamp
	first := true
	for line := 1; sc.Scan(); line++ {
		td, err := um.UnmarshalTraces(sc.Bytes())
		if err != nil {
			return nil, fmt.Errorf("%s:%d: %w", path, line, err)
		}
		// One request per resource: the agent sends one resource (JVM) per request.
		for i := 0; i < td.ResourceSpans().Len(); i++ {
			one := ptrace.NewTraces()
			rs := td.ResourceSpans().At(i)
			rs.CopyTo(one.ResourceSpans().AppendEmpty())
			svc, _ := rs.Resource().Attributes().Get("service.name")
			var end pcommon.Timestamp
			forEachSpan(one, func(s ptrace.Span) {
				if first || s.StartTimestamp() < t.t0 {
					t.t0, first = s.StartTimestamp(), false
				}
				end = max(end, s.EndTimestamp())
				t.index(s)
				t.Spans++
			})
			t.Requests = append(t.Requests, Request{Service: svc.Str(), Traces: one})
			ends = append(ends, end)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	if t.Spans == 0 {
		return nil, fmt.Errorf("%s: no spans", path)
	}
	if len(t.spanIdx) >= maxTemplateIDs {
		return nil, fmt.Errorf("%s: more than %d span ids", path, maxTemplateIDs)
	}
	var at time.Duration
	for i := range t.Requests {
		at = max(at, time.Duration(ends[i]-t.t0))
		t.Requests[i].At = at
	}
	t.Duration = at
	return t, nil
}

func (t *Template) index(s ptrace.Span) {
	t.traceID(s.TraceID())
	t.spanID(s.SpanID())
	t.spanID(s.ParentSpanID())
	t.offsets(s.Attributes())
	for i := 0; i < s.Links().Len(); i++ {
		l := s.Links().At(i)
		t.traceID(l.TraceID())
		t.spanID(l.SpanID())
		t.offsets(l.Attributes())
	}
}

func (t *Template) traceID(id pcommon.TraceID) {
	if _, ok := t.traceIdx[id]; !ok && !id.IsEmpty() {
		t.traceIdx[id] = uint64(len(t.traceIdx))
	}
}

func (t *Template) spanID(id pcommon.SpanID) {
	if _, ok := t.spanIdx[id]; !ok && !id.IsEmpty() {
		t.spanIdx[id] = uint64(len(t.spanIdx))
	}
}

func (t *Template) offsets(attrs pcommon.Map) {
	for _, k := range []string{attrOffset, attrOffsetNew} {
		if v, ok := attrs.Get(k); ok && v.Type() == pcommon.ValueTypeInt {
			t.MaxOffset = max(t.MaxOffset, v.Int())
		}
	}
}

func forEachSpan(td ptrace.Traces, f func(ptrace.Span)) {
	for i := 0; i < td.ResourceSpans().Len(); i++ {
		sss := td.ResourceSpans().At(i).ScopeSpans()
		for j := 0; j < sss.Len(); j++ {
			spans := sss.At(j).Spans()
			for k := 0; k < spans.Len(); k++ {
				f(spans.At(k))
			}
		}
	}
}

// ForEachSpan calls f for every span of td.
func ForEachSpan(td ptrace.Traces, f func(ptrace.Span)) { forEachSpan(td, f) }
