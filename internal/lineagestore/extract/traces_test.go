package extract

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/eventlineage/lineage/internal/lineagestore"
	"github.com/eventlineage/lineage/internal/recordfact"
)

// builder writes hand-made agent spans.
type builder struct {
	td ptrace.Traces
}

func newBuilder() *builder { return &builder{td: ptrace.NewTraces()} }

// resource starts a resource (service, home cluster name; "" leaves an attribute out).
func (b *builder) resource(service, cluster string) ptrace.SpanSlice {
	rs := b.td.ResourceSpans().AppendEmpty()
	if service != "" {
		rs.Resource().Attributes().PutStr("service.name", service)
	}
	if cluster != "" {
		rs.Resource().Attributes().PutStr("kafka.cluster.name", cluster)
	}
	return rs.ScopeSpans().AppendEmpty().Spans()
}

var t0 = time.Date(2026, 11, 26, 9, 0, 0, 0, time.UTC)

func tid(n byte) pcommon.TraceID { return pcommon.TraceID{15: n} }
func sid(n byte) pcommon.SpanID  { return pcommon.SpanID{7: n} }

// newSpan appends a span of trace 1 (span id n, parent p; 0 = none).
func newSpan(ss ptrace.SpanSlice, n, p byte, kind ptrace.SpanKind, name string) ptrace.Span {
	s := ss.AppendEmpty()
	s.SetTraceID(tid(1))
	s.SetSpanID(sid(n))
	if p != 0 {
		s.SetParentSpanID(sid(p))
	}
	s.SetKind(kind)
	s.SetName(name)
	s.SetStartTimestamp(pcommon.NewTimestampFromTime(t0.Add(time.Duration(n) * time.Millisecond)))
	s.SetEndTimestamp(pcommon.NewTimestampFromTime(t0.Add(time.Duration(n)*time.Millisecond + time.Millisecond)))
	return s
}

// record puts the old-convention record attributes (partition as a string, as the agent does).
func record(s ptrace.Span, cluster, topic string, partition, offset int64) ptrace.Span {
	a := s.Attributes()
	if cluster != "" {
		a.PutStr("messaging.kafka.cluster.id", cluster)
	}
	a.PutStr("messaging.destination.name", topic)
	a.PutStr("messaging.destination.partition.id", itoa(partition))
	a.PutInt("messaging.kafka.message.offset", offset)
	return s
}

func itoa(n int64) string { return pcommon.NewValueInt(n).AsString() }

func link(s ptrace.Span, to byte, attrs map[string]string) {
	l := s.Links().AppendEmpty()
	l.SetTraceID(tid(1))
	l.SetSpanID(sid(to))
	for k, v := range attrs {
		l.Attributes().PutStr(k, v)
	}
}

func rid(cluster, topic string, p int32, o int64) lineagestore.RecordID {
	return lineagestore.RecordID{Cluster: cluster, Topic: topic, Partition: p, Offset: o}
}

func sha(t testing.TB) lineagestore.KeyHasher {
	h, err := recordfact.NewKeyHasher(recordfact.AlgorithmSHA256, "")
	require.NoError(t, err)
	return h
}

func TestProducerConsumerHop(t *testing.T) {
	b := newBuilder()
	prod := b.resource("transaction-producer", "dc1")
	s := record(newSpan(prod, 1, 0, ptrace.SpanKindProducer, "transactions publish"), "C1", "transactions", 0, 7)
	s.Attributes().PutStr("messaging.kafka.message.key", "acct-01")
	s.Attributes().PutStr("thread.name", "main")
	cons := b.resource("outcome-consumer", "dc1")
	record(newSpan(cons, 2, 1, ptrace.SpanKindConsumer, "transactions process"), "C1", "transactions", 0, 7)

	batch, st := Traces(b.td, sha(t))
	rec := rid("C1", "transactions", 0, 7)
	assert.Equal(t, []lineagestore.Event{{
		Record: rec, ProducedAt: t0.Add(time.Millisecond), TraceID: tid(1).String(), Producer: "transaction-producer",
		KeyHash: "d7b0126a49cf00aa6e0d45b5bcb0cc0cd7a207bbb9c0da2d31d17f6fef86850f",
	}}, batch.Events, "the consumer span adds nothing but the record; the cluster id is not a name")
	require.Len(t, batch.Touchpoints, 2)
	assert.Equal(t, lineagestore.Touchpoint{
		Record: rec, TraceID: tid(1).String(), SpanID: sid(2).String(), ParentSpanID: sid(1).String(),
		Service: "outcome-consumer", Operation: "transactions process", Kind: lineagestore.KindConsume,
		Start: t0.Add(2 * time.Millisecond), End: t0.Add(3 * time.Millisecond), ClusterName: "dc1",
	}, batch.Touchpoints[1])
	assert.Equal(t, lineagestore.KindProduce, batch.Touchpoints[0].Kind)
	assert.Empty(t, batch.Edges, "a consumer under its own record's producer is a hop, not an edge")
	assert.Empty(t, batch.PendingEdges)
	assert.Equal(t, Stats{Spans: 2, RecordSpans: 2}, st)

	// Without a hasher, no key hash; without a cluster id, the resource's name names the cluster.
	b = newBuilder()
	s = record(newSpan(b.resource("p", "dc9"), 1, 0, ptrace.SpanKindProducer, "t publish"), "", "t", 1, 2)
	s.Attributes().PutStr("messaging.kafka.message.key", "k")
	batch, _ = Traces(b.td, nil)
	assert.Equal(t, rid("dc9", "t", 1, 2), batch.Events[0].Record)
	assert.Equal(t, "dc9", batch.Events[0].ClusterName)
	assert.Empty(t, batch.Events[0].KeyHash)
}

// A Kafka Streams process span with a send under it (measured), a state-store span with a
// changelog write under it (derived: the rule sits on the span between), and a send re-parented
// by a rule with fan-in and configured links.
func TestStreamsEdges(t *testing.T) {
	b := newBuilder()
	ss := b.resource("withdrawal-processor", "dc2")
	in := rid("C1", "transactions", 0, 1)
	record(newSpan(ss, 1, 0, ptrace.SpanKindConsumer, "transactions process"), "C1", "transactions", 0, 1)
	record(newSpan(ss, 2, 1, ptrace.SpanKindProducer, "repartition publish"), "C1", "app-by-type-repartition", 0, 4)
	st := newSpan(ss, 3, 1, ptrace.SpanKindInternal, "balances state-store put")
	st.Attributes().PutStr("lineage.state_store.name", "balances")
	st.Attributes().PutStr("lineage.state_store.operation", "put")
	st.Attributes().PutStr("lineage.rule", "streams_changelog")
	st.Attributes().PutStr("lineage.derived_from", "changelog_write")
	record(newSpan(ss, 4, 3, ptrace.SpanKindProducer, "app-balances-changelog publish"), "C1", "app-balances-changelog", 0, 9)
	record(newSpan(ss, 5, 0, ptrace.SpanKindConsumer, "accounts process"), "C1", "accounts", 0, 3)
	record(newSpan(ss, 6, 0, ptrace.SpanKindConsumer, "transactions process"), "C1", "transactions", 0, 0)
	out := record(newSpan(ss, 7, 1, ptrace.SpanKindProducer, "withdrawals-approved publish"), "C1", "withdrawals-approved", 0, 2)
	out.Attributes().PutStr("lineage.rule", "record_key")
	link(out, 6, map[string]string{"lineage.rule": "fan_in"})
	link(out, 5, map[string]string{"lineage.rule": "table_join", "lineage.derived_from": "configuration"})
	link(out, 1, nil) // the same edge as the parent's, as a link: stored once per kind

	batch, stats := Traces(b.td, nil)
	assert.Equal(t, []lineagestore.Edge{
		{From: in, To: rid("C1", "app-by-type-repartition", 0, 4), Derivation: "measured", TraceID: tid(1).String()},
		{From: in, To: rid("C1", "app-balances-changelog", 0, 9), Rule: "streams_changelog", Derivation: "derived", TraceID: tid(1).String()},
		{From: in, To: rid("C1", "withdrawals-approved", 0, 2), Rule: "record_key", Derivation: "derived", TraceID: tid(1).String()},
		{From: rid("C1", "transactions", 0, 0), To: rid("C1", "withdrawals-approved", 0, 2), Rule: "fan_in", Derivation: "derived", Link: true, TraceID: tid(1).String()},
		{From: rid("C1", "accounts", 0, 3), To: rid("C1", "withdrawals-approved", 0, 2), Rule: "table_join", Derivation: "configuration", Link: true, TraceID: tid(1).String()},
		{From: in, To: rid("C1", "withdrawals-approved", 0, 2), Derivation: "measured", Link: true, TraceID: tid(1).String()},
	}, batch.Edges)
	var store *lineagestore.Touchpoint
	for i := range batch.Touchpoints {
		if batch.Touchpoints[i].SpanID == sid(3).String() {
			store = &batch.Touchpoints[i]
		}
	}
	require.NotNil(t, store)
	assert.Equal(t, in, store.Record, "a state-store span belongs to the event whose processing made it")
	assert.Equal(t, lineagestore.KindStateStore, store.Kind)
	assert.Equal(t, "balances", store.StateStore)
	assert.Equal(t, "put", store.StoreOperation)
	assert.Equal(t, "streams_changelog", store.Rule)
	assert.Zero(t, stats.Unanchored)
}

// The processor's link mode: the child links to its recovered parent, the parent links back to
// the child (lineage.link_direction=child); both state the same edge.
func TestReverseLink(t *testing.T) {
	b := newBuilder()
	ss := b.resource("withdrawal-processor", "dc1")
	p := record(newSpan(ss, 1, 0, ptrace.SpanKindConsumer, "transactions process"), "C1", "transactions", 0, 1)
	c := record(newSpan(ss, 2, 0, ptrace.SpanKindProducer, "balance-updates publish"), "C1", "balance-updates", 0, 5)
	link(p, 2, map[string]string{"lineage.rule": "record_key", "lineage.link_direction": "child"})
	link(c, 1, map[string]string{"lineage.rule": "record_key"})
	batch, _ := Traces(b.td, nil)
	assert.Equal(t, []lineagestore.Edge{{
		From: rid("C1", "transactions", 0, 1), To: rid("C1", "balance-updates", 0, 5), Rule: "record_key",
		Derivation: "derived", Link: true, TraceID: tid(1).String(),
	}}, batch.Edges)
}

// Parents and links outside the export call become pending edges naming the first span on the
// way up that is missing; a reverse link to a missing span cannot (a pending edge names only its
// input) and is counted.
func TestPendingEdges(t *testing.T) {
	b := newBuilder()
	ss := b.resource("withdrawal-processor", "dc1")
	out := rid("C1", "balance-updates", 0, 5)
	s := record(newSpan(ss, 1, 0x20, ptrace.SpanKindConsumer, "balance-updates process"), "C1", "balance-updates", 0, 5)
	link(s, 0x21, map[string]string{"lineage.rule": "fan_in"})
	link(s, 0x22, map[string]string{"lineage.link_direction": "child"})
	internal := newSpan(ss, 2, 0x23, ptrace.SpanKindInternal, "handler")
	internal.Attributes().PutStr("lineage.rule", "sink_batch")
	s2 := record(newSpan(ss, 3, 2, ptrace.SpanKindProducer, "summaries publish"), "C1", "summaries", 0, 1)
	_ = s2
	batch, st := Traces(b.td, nil)
	ref := func(n byte) lineagestore.SpanRef {
		return lineagestore.SpanRef{TraceID: tid(1).String(), SpanID: sid(n).String()}
	}
	assert.Equal(t, []lineagestore.PendingEdge{
		{From: ref(0x20), Edge: lineagestore.Edge{To: out, Derivation: "measured", TraceID: tid(1).String()}},
		{From: ref(0x21), Edge: lineagestore.Edge{To: out, Rule: "fan_in", Derivation: "derived", Link: true, TraceID: tid(1).String()}},
		{From: ref(0x23), Edge: lineagestore.Edge{To: rid("C1", "summaries", 0, 1), Rule: "sink_batch", Derivation: "derived", TraceID: tid(1).String()}},
	}, batch.PendingEdges)
	assert.Empty(t, batch.Edges)
	assert.Equal(t, 1, st.UnresolvedLinks)
	assert.Equal(t, 1, st.Unanchored, "the internal span's ancestors are not in the call")
}

// A Kafka Connect sink batch: a record-less consumer span on the task thread linking to the
// records it took is a touchpoint of each of them; so is the per-record span the processor splits
// off it (under the record's producer span).
func TestSinkBatchTouchpoints(t *testing.T) {
	b := newBuilder()
	prod := b.resource("withdrawal-processor", "dc2")
	record(newSpan(prod, 1, 0, ptrace.SpanKindProducer, "approved publish"), "C2", "approved", 0, 1)
	record(newSpan(prod, 2, 0, ptrace.SpanKindProducer, "approved publish"), "C2", "approved", 0, 2)
	sink := b.resource("kafka-connect-dc2", "dc2")
	batchSpan := newSpan(sink, 3, 1, ptrace.SpanKindConsumer, "approved process")
	batchSpan.Attributes().PutStr("thread.name", "task-thread-approved-file-sink-0")
	batchSpan.Attributes().PutStr("lineage.rule", "sink_batch")
	link(batchSpan, 1, nil)
	link(batchSpan, 4, map[string]string{"lineage.rule": "sink_batch"})
	split := newSpan(sink, 4, 2, ptrace.SpanKindConsumer, "approved process")
	split.Attributes().PutStr("thread.name", "task-thread-approved-file-sink-0")
	split.Attributes().PutStr("lineage.derived_from", "sink_batch")
	link(split, 2, map[string]string{"lineage.rule": "sink_batch"})
	link(split, 3, map[string]string{"lineage.rule": "sink_batch"})
	// an empty put(): a root without links, no record
	empty := newSpan(sink, 5, 0, ptrace.SpanKindConsumer, "unknown process")
	empty.Attributes().PutStr("thread.name", "task-thread-approved-file-sink-0")

	batch, st := Traces(b.td, nil)
	got := map[string][]string{}
	for _, tp := range batch.Touchpoints {
		if tp.Kind == lineagestore.KindConnect {
			assert.Equal(t, "approved-file-sink", tp.Connector)
			got[tp.SpanID] = append(got[tp.SpanID], tp.Record.String())
		}
	}
	assert.Equal(t, map[string][]string{
		sid(3).String(): {"C2/approved/0/1"},
		sid(4).String(): {"C2/approved/0/2"},
	}, got)
	assert.Empty(t, batch.Edges)
	assert.Equal(t, 1, st.Unanchored)

	// Link mode: the batch span keeps its links to the records' producer spans.
	b = newBuilder()
	prod = b.resource("p", "dc2")
	record(newSpan(prod, 1, 0, ptrace.SpanKindProducer, "a publish"), "C2", "approved", 0, 1)
	record(newSpan(prod, 2, 0, ptrace.SpanKindProducer, "a publish"), "C2", "approved", 0, 2)
	bs := newSpan(b.resource("kafka-connect-dc2", "dc2"), 3, 0, ptrace.SpanKindConsumer, "approved process")
	bs.Attributes().PutStr("thread.name", "task-thread-approved-file-sink-0")
	link(bs, 1, nil)
	link(bs, 2, nil)
	link(bs, 9, nil)
	batch, st = Traces(b.td, nil)
	var recs []string
	for _, tp := range batch.Touchpoints {
		if tp.SpanID == sid(3).String() {
			recs = append(recs, tp.Record.String())
			assert.Equal(t, lineagestore.KindConnect, tp.Kind)
		}
	}
	assert.Equal(t, []string{"C2/approved/0/1", "C2/approved/0/2"}, recs)
	assert.Equal(t, 1, st.UnresolvedLinks)
}

// Malformed and unusual record attributes.
func TestRecordAttributes(t *testing.T) {
	tests := []struct {
		name  string
		put   func(a pcommon.Map)
		kind  ptrace.SpanKind
		want  *lineagestore.RecordID
		stats Stats
	}{
		{"v1.43 offset, int partition", func(a pcommon.Map) {
			a.PutStr("messaging.destination.name", "t")
			a.PutInt("messaging.destination.partition.id", 3)
			a.PutInt("messaging.kafka.offset", 8)
		}, ptrace.SpanKindConsumer, &lineagestore.RecordID{Cluster: "dc1", Topic: "t", Partition: 3, Offset: 8}, Stats{RecordSpans: 1}},
		{"string offset", func(a pcommon.Map) {
			a.PutStr("messaging.destination.name", "t")
			a.PutStr("messaging.destination.partition.id", "0")
			a.PutStr("messaging.kafka.message.offset", " 12 ")
		}, ptrace.SpanKindProducer, &lineagestore.RecordID{Cluster: "dc1", Topic: "t", Offset: 12}, Stats{RecordSpans: 1}},
		{"acks=0", func(a pcommon.Map) {
			a.PutStr("messaging.destination.name", "t")
			a.PutStr("messaging.destination.partition.id", "0")
			a.PutInt("messaging.kafka.message.offset", -1)
		}, ptrace.SpanKindProducer, nil, Stats{Unanchored: 1}},
		{"bad partition", func(a pcommon.Map) {
			a.PutStr("messaging.destination.name", "t")
			a.PutStr("messaging.destination.partition.id", "zero")
			a.PutInt("messaging.kafka.message.offset", 1)
		}, ptrace.SpanKindConsumer, nil, Stats{InvalidRecords: 1, Unanchored: 1}},
		{"partition out of range", func(a pcommon.Map) {
			a.PutStr("messaging.destination.name", "t")
			a.PutInt("messaging.destination.partition.id", 1<<31)
			a.PutInt("messaging.kafka.message.offset", 1)
		}, ptrace.SpanKindConsumer, nil, Stats{InvalidRecords: 1, Unanchored: 1}},
		{"topic not a string", func(a pcommon.Map) {
			a.PutInt("messaging.destination.name", 5)
			a.PutStr("messaging.destination.partition.id", "0")
			a.PutInt("messaging.kafka.message.offset", 1)
		}, ptrace.SpanKindConsumer, nil, Stats{InvalidRecords: 1, Unanchored: 1}},
		{"topic with a slash", func(a pcommon.Map) {
			a.PutStr("messaging.destination.name", "a/b")
			a.PutStr("messaging.destination.partition.id", "0")
			a.PutInt("messaging.kafka.message.offset", 1)
		}, ptrace.SpanKindConsumer, nil, Stats{InvalidRecords: 1, Unanchored: 1}},
		{"offset a double", func(a pcommon.Map) {
			a.PutStr("messaging.destination.name", "t")
			a.PutStr("messaging.destination.partition.id", "0")
			a.PutDouble("messaging.kafka.message.offset", 1.5)
		}, ptrace.SpanKindConsumer, nil, Stats{InvalidRecords: 1, Unanchored: 1}},
		{"cluster id wins over the resource", func(a pcommon.Map) {
			a.PutStr("messaging.kafka.cluster.id", "C7")
			a.PutStr("messaging.destination.name", "t")
			a.PutStr("messaging.destination.partition.id", "0")
			a.PutInt("messaging.kafka.message.offset", 1)
		}, ptrace.SpanKindConsumer, &lineagestore.RecordID{Cluster: "C7", Topic: "t", Offset: 1}, Stats{RecordSpans: 1}},
		{"internal span with a record: not a record span", func(a pcommon.Map) {
			a.PutStr("messaging.destination.name", "t")
			a.PutStr("messaging.destination.partition.id", "0")
			a.PutInt("messaging.kafka.message.offset", 1)
		}, ptrace.SpanKindInternal, nil, Stats{Unanchored: 1}},
		{"no offset", func(a pcommon.Map) {
			a.PutStr("messaging.destination.name", "t")
			a.PutStr("messaging.destination.partition.id", "0")
		}, ptrace.SpanKindConsumer, nil, Stats{Unanchored: 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := newBuilder()
			s := newSpan(b.resource("svc", "dc1"), 1, 0, tt.kind, "x")
			tt.put(s.Attributes())
			batch, st := Traces(b.td, nil)
			tt.stats.Spans = 1
			assert.Equal(t, tt.stats, st)
			if tt.want == nil {
				assert.Empty(t, batch.Events)
				return
			}
			require.Len(t, batch.Events, 1)
			assert.Equal(t, *tt.want, batch.Events[0].Record)
		})
	}

	// No cluster at all: neither a cluster id nor a resource name.
	b := newBuilder()
	record(newSpan(b.resource("svc", ""), 1, 0, ptrace.SpanKindConsumer, "x"), "", "t", 0, 1)
	batch, st := Traces(b.td, nil)
	assert.Empty(t, batch.Events)
	assert.Equal(t, 1, st.InvalidRecords)
}

func TestInvalidIDsDuplicatesAndCycles(t *testing.T) {
	b := newBuilder()
	ss := b.resource("svc", "dc1")
	s := newSpan(ss, 1, 0, ptrace.SpanKindInternal, "no span id")
	s.SetSpanID(pcommon.SpanID{})
	s = newSpan(ss, 2, 0, ptrace.SpanKindInternal, "no trace id")
	s.SetTraceID(pcommon.TraceID{})
	record(newSpan(ss, 3, 0, ptrace.SpanKindProducer, "t publish"), "C1", "t", 0, 1)
	record(newSpan(ss, 3, 0, ptrace.SpanKindProducer, "t publish again"), "C1", "t", 0, 2) // duplicate id
	// a parent cycle of record-less spans, and a record span hanging under it
	newSpan(ss, 4, 5, ptrace.SpanKindInternal, "a")
	newSpan(ss, 5, 6, ptrace.SpanKindInternal, "b")
	newSpan(ss, 6, 4, ptrace.SpanKindInternal, "c")
	record(newSpan(ss, 7, 4, ptrace.SpanKindProducer, "u publish"), "C1", "u", 0, 1)
	// a span that is its own parent, under which a record span
	newSpan(ss, 8, 8, ptrace.SpanKindInternal, "self")
	record(newSpan(ss, 9, 8, ptrace.SpanKindProducer, "v publish"), "C1", "v", 0, 1)
	batch, st := Traces(b.td, nil)
	assert.Equal(t, Stats{Spans: 10, RecordSpans: 3, InvalidIDs: 2, Duplicates: 1, SelfParents: 1, ParentCycles: 1, Unanchored: 4}, st)
	assert.Len(t, batch.Events, 3)
	assert.Empty(t, batch.Edges)
	assert.Empty(t, batch.PendingEdges)
	assert.Len(t, batch.Touchpoints, 3)
}

func TestTruncation(t *testing.T) {
	b := newBuilder()
	long := strings.Repeat("é", MaxStringBytes) // 2 bytes a rune
	s := record(newSpan(b.resource(long, "dc1"), 1, 0, ptrace.SpanKindProducer, long+"x"), "C1", "t", 0, 1)
	s.Attributes().PutStr("lineage.rule", long)
	batch, st := Traces(b.td, nil)
	assert.Equal(t, 3, st.Truncated)
	tp := batch.Touchpoints[0]
	for _, v := range []string{tp.Service, tp.Operation, tp.Rule, batch.Events[0].Producer} {
		assert.Len(t, v, MaxStringBytes)
		assert.Equal(t, strings.Repeat("é", MaxStringBytes/2), v)
	}
}

func TestConnectorOf(t *testing.T) {
	m := pcommon.NewMap()
	assert.Equal(t, "mm2-dc1-to-dc2", connectorOf(m, "task-thread-mm2-dc1-to-dc2-0"))
	assert.Equal(t, "crm-accounts-source", connectorOf(m, "task-thread-crm-accounts-source-12"))
	assert.Empty(t, connectorOf(m, "task-thread-nodigits"))
	assert.Empty(t, connectorOf(m, "task-thread--1"))
	assert.Empty(t, connectorOf(m, "main"))
	m.PutStr("kafka.connect.connector", "from-rest-api")
	assert.Equal(t, "from-rest-api", connectorOf(m, "task-thread-x-0"))
}
