package captureeval

import (
	"crypto/sha256"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
)

// Hand-made captures: a capture is built from readable span descriptions and truth entries and
// written as spans.jsonl / truth.json into a temporary directory.

func traceID(name string) pcommon.TraceID {
	h := sha256.Sum256([]byte("trace:" + name))
	return pcommon.TraceID(h[:16])
}

func spanID(name string) pcommon.SpanID {
	h := sha256.Sum256([]byte("span:" + name))
	return pcommon.SpanID(h[:8])
}

// tspan describes one span. Span names double as span ids (spanID(name)); parent names a span.
type tspan struct {
	name    string // unique within the capture
	display string // the span's name when set (name still gives its id)
	trace   string
	parent  string
	service string
	cluster string
	kind    ptrace.SpanKind
	attrs   map[string]any
	links   []tlink
}

type tlink struct {
	trace, span string
	reverse     bool // a lineage-processor reverse link (lineage.link_direction=child)
}

// oldRec returns record attributes under the old conventions (partition as a string).
func oldRec(topic string, partition int, offset int64) map[string]any {
	return map[string]any{
		AttrTopic:       topic,
		AttrPartitionID: itoa(partition),
		AttrOffsetOld:   offset,
	}
}

// newRec returns record attributes under the v1.43 conventions.
func newRec(topic string, partition int, offset int64) map[string]any {
	return map[string]any{
		AttrTopic:       topic,
		AttrPartitionID: itoa(partition),
		AttrOffset:      offset,
	}
}

func itoa(n int) string {
	b, _ := json.Marshal(n)
	return string(b)
}

func producer(name, trace, parent, service, topic string, partition int, offset int64) tspan {
	return tspan{name: name, trace: trace, parent: parent, service: service, cluster: "dc1",
		kind: ptrace.SpanKindProducer, attrs: oldRec(topic, partition, offset)}
}

func consumer(name, trace, parent, service, topic string, partition int, offset int64) tspan {
	return tspan{name: name, trace: trace, parent: parent, service: service, cluster: "dc1",
		kind: ptrace.SpanKindConsumer, attrs: oldRec(topic, partition, offset)}
}

func (s tspan) in(cluster string) tspan { s.cluster = cluster; return s }

func (s tspan) withLinks(links ...tlink) tspan { s.links = append(s.links, links...); return s }

// tracesLine renders spans as one OTLP TracesData, one ResourceSpans per (service, cluster).
func tracesLine(t testing.TB, spans ...tspan) []byte {
	t.Helper()
	td := ptrace.NewTraces()
	type res struct{ service, cluster string }
	scopes := map[res]ptrace.SpanSlice{}
	for _, s := range spans {
		r := res{s.service, s.cluster}
		ss, ok := scopes[r]
		if !ok {
			rs := td.ResourceSpans().AppendEmpty()
			if s.service != "" {
				rs.Resource().Attributes().PutStr(ResAttrServiceName, s.service)
			}
			if s.cluster != "" {
				rs.Resource().Attributes().PutStr(ResAttrClusterName, s.cluster)
			}
			sc := rs.ScopeSpans().AppendEmpty()
			sc.Scope().SetName("io.opentelemetry.kafka-clients-2.6")
			ss = sc.Spans()
			scopes[r] = ss
		}
		sp := ss.AppendEmpty()
		sp.SetName(s.name)
		if s.display != "" {
			sp.SetName(s.display)
		}
		sp.SetTraceID(traceID(s.trace))
		sp.SetSpanID(spanID(s.name))
		if s.parent != "" {
			sp.SetParentSpanID(spanID(s.parent))
		}
		sp.SetKind(s.kind)
		if err := sp.Attributes().FromRaw(s.attrs); err != nil {
			t.Fatal(err)
		}
		for _, l := range s.links {
			sl := sp.Links().AppendEmpty()
			sl.SetTraceID(traceID(l.trace))
			sl.SetSpanID(spanID(l.span))
			if l.reverse {
				sl.Attributes().PutStr(attrLinkDirection, linkDirectionChild)
			}
		}
	}
	var m ptrace.JSONMarshaler
	b, err := m.MarshalTraces(td)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// truthBuilder assembles a truth.json.
type truthBuilder struct {
	f TruthFile
}

func newTruth() *truthBuilder {
	return &truthBuilder{f: TruthFile{SchemaVersion: 1, Scenario: "withdrawal", Config: "a"}}
}

func (b *truthBuilder) consumer(cluster, topic, service, kind string) *truthBuilder {
	b.f.Consumers = append(b.f.Consumers, TruthConsumer{Cluster: cluster, Topic: topic, Service: service, Kind: kind})
	return b
}

// record adds a record with the given parents (see primary and secondary) and returns its id.
func (b *truthBuilder) record(cluster, topic string, partition, offset int64, parents ...TruthParent) string {
	id := cluster + "/" + topic + "/" + itoa(int(partition)) + "/" + itoa(int(offset))
	b.f.Records = append(b.f.Records, TruthRecord{ID: id, Cluster: cluster, Topic: topic, Partition: partition, Offset: offset, Parents: parents})
	return id
}

// origin adds an origin record and its event.
func (b *truthBuilder) origin(cluster, topic string, partition, offset int64, eventID string) string {
	id := b.record(cluster, topic, partition, offset)
	b.f.Events = append(b.f.Events, TruthEvent{EventID: eventID, Record: id})
	return id
}

func primary(typ, id string) TruthParent   { return TruthParent{ID: id, Type: typ, Primary: true} }
func secondary(typ, id string) TruthParent { return TruthParent{ID: id, Type: typ} }

// writeCapture writes a capture directory: the truth and one spans.jsonl line per entry of
// lines (each either []byte or []tspan).
func writeCapture(t testing.TB, truth *truthBuilder, lines ...any) string {
	t.Helper()
	dir := t.TempDir()
	tb, err := json.MarshalIndent(truth.f, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, TruthFileName), tb, 0o644); err != nil {
		t.Fatal(err)
	}
	var spans []byte
	for _, l := range lines {
		switch l := l.(type) {
		case []byte:
			spans = append(spans, l...)
		case string:
			spans = append(spans, l...)
		case []tspan:
			spans = append(spans, tracesLine(t, l...)...)
		default:
			t.Fatalf("writeCapture: unexpected line type %T", l)
		}
		spans = append(spans, '\n')
	}
	if err := os.WriteFile(filepath.Join(dir, SpansFile), spans, 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

func evaluate(t testing.TB, dir string, opts Options) *Report {
	t.Helper()
	rep, err := EvaluateDir(dir, opts)
	if err != nil {
		t.Fatal(err)
	}
	return rep
}
