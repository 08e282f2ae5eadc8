package extract

import (
	"encoding/hex"
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/eventlineage/lineage/internal/lineagestore"
	"github.com/eventlineage/lineage/internal/lineagestore/extract/extracttest"
)

// Spans of an earlier call anchor the spans of a later one: a state-store span whose process span
// came before, a consumer under a producer span of an earlier call (a hop: no pending edge), a
// send under a process span of an earlier call (an edge at once, with the rule found below the
// process span).
func TestSpanIndexAcrossCalls(t *testing.T) {
	ix := NewSpanIndex(100)
	b := newBuilder()
	ss := b.resource("withdrawal-processor", "dc1")
	record(newSpan(ss, 1, 0, ptrace.SpanKindProducer, "transactions publish"), "C1", "transactions", 0, 1)
	record(newSpan(ss, 2, 1, ptrace.SpanKindConsumer, "transactions process"), "C1", "transactions", 0, 1)
	handler := newSpan(ss, 3, 2, ptrace.SpanKindInternal, "handler")
	handler.Attributes().PutStr("lineage.rule", "record_key")
	_, st := TracesWith(b.td, nil, ix)
	assert.Zero(t, st.Unanchored)
	assert.Equal(t, 3, ix.Len())

	b = newBuilder()
	ss = b.resource("withdrawal-processor", "dc1")
	store := newSpan(ss, 4, 2, ptrace.SpanKindInternal, "balances state-store put")
	store.Attributes().PutStr("lineage.state_store.name", "balances")
	record(newSpan(ss, 5, 1, ptrace.SpanKindConsumer, "transactions process"), "C1", "transactions", 0, 1)
	record(newSpan(ss, 6, 3, ptrace.SpanKindProducer, "balance-updates publish"), "C1", "balance-updates", 0, 7)
	batch, st := TracesWith(b.td, nil, ix)
	assert.Zero(t, st.Unanchored)
	assert.Empty(t, batch.PendingEdges, "the hop and the edge are known from the index")
	assert.Equal(t, []lineagestore.Edge{{
		From: rid("C1", "transactions", 0, 1), To: rid("C1", "balance-updates", 0, 7), Rule: "record_key", Derivation: "derived", TraceID: tid(1).String(),
	}}, batch.Edges)
	require.Len(t, batch.Touchpoints, 3)
	assert.Equal(t, rid("C1", "transactions", 0, 1), batch.Touchpoints[0].Record, "the state-store span belongs to the processed record")

	// Without the index, the same call leaves the state-store span unanchored and two edges pending.
	batch, st = Traces(b.td, nil)
	assert.Equal(t, 1, st.Unanchored)
	assert.Len(t, batch.PendingEdges, 2)

	// The other way round: a span before its ancestor waits; the call bringing the ancestor
	// writes its touchpoint, and that of the span that waited for it in turn.
	b = newBuilder()
	ss = b.resource("withdrawal-processor", "dc1")
	newSpan(ss, 0x11, 0x10, ptrace.SpanKindInternal, "handler")
	newSpan(ss, 0x12, 0x11, ptrace.SpanKindInternal, "inner")
	_, st = TracesWith(b.td, nil, ix)
	assert.Equal(t, 2, st.Unanchored)
	b = newBuilder()
	record(newSpan(b.resource("withdrawal-processor", "dc1"), 0x10, 0, ptrace.SpanKindConsumer, "accounts process"), "C1", "accounts", 0, 5)
	batch, st = TracesWith(b.td, nil, ix)
	assert.Equal(t, 2, st.LateTouchpoints)
	require.Len(t, batch.Touchpoints, 3)
	for _, tp := range batch.Touchpoints {
		assert.Equal(t, rid("C1", "accounts", 0, 5), tp.Record)
	}
	assert.Equal(t, []string{sid(0x10).String(), sid(0x11).String(), sid(0x12).String()},
		[]string{batch.Touchpoints[0].SpanID, batch.Touchpoints[1].SpanID, batch.Touchpoints[2].SpanID})
	// The write of that call failed: its retry writes the late touchpoints again.
	again, st := TracesWith(b.td, nil, ix)
	assert.Equal(t, 2, st.LateTouchpoints)
	assert.Equal(t, batch.Touchpoints, again.Touchpoints)
}

func TestSpanIndexBound(t *testing.T) {
	ix := NewSpanIndex(4)
	for n := range 10 {
		k := spanKey{tid(1), sid(byte(n + 1))}
		ix.add([]indexEntry{{key: k, up: upward{anchored: true, rec: rid("C", "t", 0, int64(n))}}}, nil)
		assert.LessOrEqual(t, ix.Len(), 4)
	}
	assert.GreaterOrEqual(t, ix.Len(), 2)
	up, ok := ix.get(spanKey{tid(1), sid(10)})
	require.True(t, ok, "the most recent span is held")
	assert.Equal(t, int64(9), up.rec.Offset)
	_, ok = ix.get(spanKey{tid(1), sid(1)})
	assert.False(t, ok, "the oldest span is gone")

	for n := range 10 {
		ix.add(nil, []waitingSpan{{key: spanKey{tid(2), sid(byte(n + 1))}, missing: spanKey{tid(2), sid(0x7f)}}})
		waiting := 0
		for _, m := range []map[spanKey][]waitingSpan{ix.waitCur, ix.waitPrev} {
			for _, ws := range m {
				waiting += len(ws)
			}
		}
		assert.LessOrEqual(t, waiting, 4, "waiting spans are bounded too")
	}
}

// The captures fed one agent resource at a time (as agents export) through one SpanIndex: every
// touchpoint and edge found is one the whole capture in one call gives, and every touchpoint of
// the whole capture is found — in the call of its span, or in the later call that brings its
// record ancestor.
func TestSpanIndexOnCaptures(t *testing.T) {
	for _, name := range extracttest.CapturesWithFacts {
		t.Run(name, func(t *testing.T) {
			td := extracttest.Stitched(t, name)
			whole, _ := Traces(td, nil)
			wantTP := map[string]bool{}
			for _, tp := range whole.Touchpoints {
				wantTP[tpString(tp)] = true
			}
			wantEdges := map[string]bool{}
			for _, e := range whole.Edges {
				wantEdges[edgeString(e)] = true
			}
			// chunk of every span, and parents, for explaining misses
			chunkOf := map[spanKey]int{}
			parentOf := map[spanKey]pcommon.SpanID{}
			rss := td.ResourceSpans()
			for i := 0; i < rss.Len(); i++ {
				forSpans(rss.At(i), func(s ptrace.Span) {
					chunkOf[spanKey{s.TraceID(), s.SpanID()}] = i
					parentOf[spanKey{s.TraceID(), s.SpanID()}] = s.ParentSpanID()
				})
			}
			ix := NewSpanIndex(DefaultSpanIndexSize)
			gotTP := map[string]bool{}
			withIndex, without := 0, 0
			for i := 0; i < rss.Len(); i++ {
				one := ptrace.NewTraces()
				rss.At(i).CopyTo(one.ResourceSpans().AppendEmpty())
				plain, _ := Traces(one, nil)
				without += len(plain.Touchpoints)
				b, _ := TracesWith(one, nil, ix)
				withIndex += len(b.Touchpoints)
				for _, tp := range b.Touchpoints {
					require.True(t, wantTP[tpString(tp)], "touchpoint %s not in the whole capture's", tpString(tp))
					gotTP[tpString(tp)] = true
				}
				for _, e := range b.Edges {
					require.True(t, wantEdges[edgeString(e)], "edge %s not in the whole capture's", edgeString(e))
				}
			}
			for _, tp := range whole.Touchpoints {
				assert.True(t, gotTP[tpString(tp)], "touchpoint %s missing", tpString(tp))
			}
			t.Logf("%s: %d touchpoints in one call; one call per resource: %d without the index, %d with it", name, len(whole.Touchpoints), without, withIndex)
			assert.Greater(t, withIndex, without)
		})
	}
}

func forSpans(rs ptrace.ResourceSpans, fn func(ptrace.Span)) {
	for j := 0; j < rs.ScopeSpans().Len(); j++ {
		ss := rs.ScopeSpans().At(j).Spans()
		for k := 0; k < ss.Len(); k++ {
			fn(ss.At(k))
		}
	}
}

func tpString(tp lineagestore.Touchpoint) string {
	return fmt.Sprintf("%s %s/%s %s", tp.Record, tp.TraceID, tp.SpanID, tp.Kind)
}

func edgeString(e lineagestore.Edge) string {
	return fmt.Sprintf("%s->%s %s %s %t", e.From, e.To, e.Rule, e.Derivation, e.Link)
}

func hexTraceID(s string) (pcommon.TraceID, error) {
	var id pcommon.TraceID
	_, err := hex.Decode(id[:], []byte(s))
	return id, err
}

func hexSpanID(s string) (pcommon.SpanID, error) {
	var id pcommon.SpanID
	_, err := hex.Decode(id[:], []byte(s))
	return id, err
}
