package extract

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/eventlineage/lineage/internal/lineagestore"
	"github.com/eventlineage/lineage/internal/recordfact"
)

// FuzzTraces feeds arbitrary record attributes (strings where the agent writes ints and the other
// way round), parent ids (cycles, self-parents, missing parents) and links through Traces: never
// a panic, every record id valid, no edge from a record to itself, every touchpoint and edge
// naming an event of the batch (an edge's input may be known from the span index), every stored
// string bounded; alone and with a span index of an earlier call.
func FuzzTraces(f *testing.F) {
	f.Add("transactions", "0", int64(7), "", "C1", "dc1", []byte("acct-01"), byte(0), byte(1), byte(0), false, "fan_in")
	f.Add("t", "2147483648", int64(-1), "12", "", "", []byte{}, byte(2), byte(3), byte(9), true, "")
	f.Add("a/b", " 3 ", int64(0), "x", "c/1", "dc/1", []byte{0xff}, byte(1), byte(1), byte(1), false, "configuration")
	f.Fuzz(func(t *testing.T, topic, partition string, offset int64, offsetV143, clusterID, clusterName string, key []byte,
		p1, p2, p3 byte, reverse bool, rule string) {
		b := newBuilder()
		ss := b.resource("svc", clusterName)
		kinds := []ptrace.SpanKind{ptrace.SpanKindProducer, ptrace.SpanKindConsumer, ptrace.SpanKindInternal}
		for n, p := range []byte{p1, p2, p3} {
			s := newSpan(ss, byte(n+1), p%5, kinds[n], topic)
			a := s.Attributes()
			a.PutStr("messaging.destination.name", topic)
			a.PutStr("messaging.destination.partition.id", partition)
			if n == 1 {
				a.PutStr("messaging.kafka.offset", offsetV143)
			} else {
				a.PutInt("messaging.kafka.message.offset", offset+int64(n))
			}
			a.PutStr("messaging.kafka.cluster.id", clusterID)
			a.PutEmptyBytes("messaging.kafka.message.key").FromRaw(key)
			a.PutStr("lineage.rule", rule)
			a.PutStr("lineage.derived_from", rule)
			a.PutStr("lineage.state_store.name", rule)
			attrs := map[string]string{"lineage.rule": rule}
			if reverse {
				attrs["lineage.link_direction"] = "child"
			}
			link(s, p%5, attrs)
		}
		checkBatch(t, b.td, nil)
		// the first span in one call, the others in a second one with a span index
		first, rest := ptrace.NewTraces(), ptrace.NewTraces()
		b.td.ResourceSpans().At(0).CopyTo(first.ResourceSpans().AppendEmpty())
		b.td.ResourceSpans().At(0).CopyTo(rest.ResourceSpans().AppendEmpty())
		first.ResourceSpans().At(0).ScopeSpans().At(0).Spans().RemoveIf(func(s ptrace.Span) bool { return s.SpanID() != sid(1) })
		rest.ResourceSpans().At(0).ScopeSpans().At(0).Spans().RemoveIf(func(s ptrace.Span) bool { return s.SpanID() == sid(1) })
		ix := NewSpanIndex(8)
		checkBatch(t, first, ix)
		checkBatch(t, rest, ix)
	})
}

func checkBatch(t *testing.T, td ptrace.Traces, known *SpanIndex) {
	{
		batch, _ := TracesWith(td, sha(t), known)
		events := map[lineagestore.RecordID]bool{}
		for _, e := range batch.Events {
			require.NoError(t, e.Record.Validate())
			events[e.Record] = true
			assert.LessOrEqual(t, len(e.Producer), MaxStringBytes)
		}
		for _, tp := range batch.Touchpoints {
			// a record known from the span index has its event in an earlier call
			assert.True(t, events[tp.Record] || known != nil, "touchpoint of %s", tp.Record)
			require.NoError(t, tp.Record.Validate())
			for _, s := range []string{tp.Service, tp.Operation, tp.Rule, tp.Connector, tp.StateStore, tp.StoreOperation} {
				assert.LessOrEqual(t, len(s), MaxStringBytes)
			}
		}
		for _, e := range batch.Edges {
			assert.NotEqual(t, e.From, e.To)
			require.NoError(t, e.From.Validate())
			assert.True(t, events[e.To] || e.Link && known != nil, "edge %s -> %s", e.From, e.To)
			assert.Contains(t, []string{"measured", "derived", "configuration"}, e.Derivation)
		}
		for _, pe := range batch.PendingEdges {
			assert.True(t, events[pe.Edge.To])
			assert.Len(t, pe.From.SpanID, 16)
		}
	}
}

// FuzzFacts feeds record facts with arbitrary cluster names and ids, topics, partitions (the
// receiver writes them as strings), offsets and key hashes through Facts: never a panic, every
// event a valid record id, bounded key hashes, every cluster pair from a fact.
func FuzzFacts(f *testing.F) {
	f.Add("dc1", "gZfj2eoESFGgHjcFOFV0dg", "accounts", "0", int64(3), "abc", true)
	f.Add("", "", "", "-1", int64(-5), "", false)
	f.Add("dc/1", "id/2", "a/b", " 7", int64(1<<62), strings.Repeat("f", 2000), false)
	f.Fuzz(func(t *testing.T, name, id, topic, partition string, offset int64, keyHash string, tombstone bool) {
		ld := plog.NewLogs()
		rl := ld.ResourceLogs().AppendEmpty()
		rl.Resource().Attributes().PutStr(recordfact.AttrClusterName, name)
		if id != "" {
			rl.Resource().Attributes().PutStr(recordfact.AttrClusterID, id)
		}
		lr := rl.ScopeLogs().AppendEmpty().LogRecords().AppendEmpty()
		a := lr.Attributes()
		a.PutStr(recordfact.AttrFact, recordfact.FactRecord)
		a.PutStr(recordfact.AttrTopic, topic)
		a.PutStr(recordfact.AttrPartition, partition)
		a.PutInt(recordfact.AttrOffset, offset)
		a.PutStr(recordfact.AttrKeyHash, keyHash)
		a.PutBool(recordfact.AttrTombstone, tombstone)
		b, st := Facts(ld)
		assert.Equal(t, 1, st.Facts+st.Malformed)
		for _, e := range b.Events {
			require.NoError(t, e.Record.Validate())
			_, err := lineagestore.ParseRecordID(e.Record.String())
			require.NoError(t, err, "the record id reads back")
			assert.LessOrEqual(t, len(e.KeyHash), MaxStringBytes)
		}
		for _, c := range b.Clusters {
			assert.Equal(t, lineagestore.Cluster{ID: id, Name: name}, c)
		}
	})
}
