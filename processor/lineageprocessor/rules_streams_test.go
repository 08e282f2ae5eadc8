package lineageprocessor

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
)

// sp is a test span with the attributes the Streams rules read.
type sp struct {
	ts
	key       string // record key ("" = none)
	startMs   int64  // start, ms after base
	durMs     int64
	tombstone bool
}

var base = time.Unix(1_795_676_000, 0)

func (s sp) traces() ptrace.Traces {
	td := tracesOf(s.ts)
	span := td.ResourceSpans().At(0).ScopeSpans().At(0).Spans().At(0)
	span.SetStartTimestamp(pcommon.NewTimestampFromTime(base.Add(time.Duration(s.startMs) * time.Millisecond)))
	span.SetEndTimestamp(pcommon.NewTimestampFromTime(base.Add(time.Duration(s.startMs+max(s.durMs, 1)) * time.Millisecond)))
	if s.key != "" {
		span.Attributes().PutStr(attrMessageKey, s.key)
	}
	if s.ts.kind == ptrace.SpanKindConsumer && isStreamThread(s.ts.thread) {
		span.Attributes().PutStr(attrGroupOld, "withdrawal-processor")
	}
	if s.ts.kind == ptrace.SpanKindProducer && s.ts.topic != "" {
		span.Attributes().PutBool(attrTombstone, s.tombstone)
	}
	return td
}

const (
	wp        = "withdrawal-processor"
	balancesC = "withdrawal-processor-balances-changelog"
)

// The withdrawal-a flush shape (agent defaults): two transactions of acct-1 processed on the
// StreamThread (P0 then P, each a child of its producer span), then at commit the changelog write
// L and the forward R of the aggregate, both roots; C is the downstream consumer of R (a child of
// R, with the key). An older flush root R0 of balance-updates bounds the fan-in.
var (
	flushX0 = sp{ts: prod("transaction-producer", 3, 31, 0, "main", "transactions", 4), key: "acct-1", startMs: 900}
	flushP0 = sp{ts: cons(wp, 3, 30, 31, streamThread, "transactions", 4), key: "acct-1", startMs: 1000, durMs: 2}
	flushX  = sp{ts: prod("transaction-producer", 1, 1, 0, "main", "transactions", 5), key: "acct-1", startMs: 1900}
	flushP  = sp{ts: cons(wp, 1, 2, 1, streamThread, "transactions", 5), key: "acct-1", startMs: 2000, durMs: 2}
	flushL  = sp{ts: prod(wp, 6, 60, 0, streamThread, balancesC, 0), startMs: 12000, durMs: 10}
	flushR  = sp{ts: prod(wp, 5, 50, 0, streamThread, "balance-updates", 0), startMs: 12003, durMs: 10}
	flushC  = sp{ts: cons("outcome-consumer", 5, 51, 50, "main", "balance-updates", 0), key: "acct-1", startMs: 12100}
)

func feedOrder(h *harness, spans []sp, order []int) {
	for _, i := range order {
		h.feed(spans[i].traces())
		h.advance(100 * time.Millisecond)
	}
}

func forwardAndReverse(n int) [][]int {
	fwd := make([]int, n)
	for i := range fwd {
		fwd[i] = i
	}
	rev := slices.Clone(fwd)
	slices.Reverse(rev)
	return [][]int{fwd, rev}
}

func TestStreamsKeyChangelogFanInBothOrders(t *testing.T) {
	spans := []sp{flushX0, flushP0, flushX, flushP, flushL, flushR, flushC}
	// The Streams JVM exports its spans in end order (P0, P, then the flush), so P is known
	// whenever R is; the other JVMs' spans (X0, X, C) arrive in any order around them.
	orders := [][]int{
		{0, 1, 2, 3, 4, 5, 6}, // evidence (C) last
		{6, 1, 3, 5, 4, 0, 2}, // C first, R before L, producer spans last
		{6, 2, 0, 1, 3, 4, 5}, // C and the producers first
	}
	for _, mode := range []Mode{ModeRewrite, ModeLink} {
		for _, order := range orders {
			t.Run(fmt.Sprint(mode, order), func(t *testing.T) {
				h := newHarness(t, func(c *Config) { c.Mode = mode })
				feedOrder(h, spans, order)
				out := h.out()
				require.Len(t, out, len(spans), "decided before decision_wait")
				r, l, c := out[sid(50)], out[sid(60)], out[sid(51)]
				assert.Equal(t, ruleStreamsKey, strAttr(r, attrRule))
				assert.Equal(t, ruleStreamsChangelog, strAttr(l, attrRule))
				assert.Equal(t, int64(1), h.p.stats.edges[ruleStreamsKey])
				assert.Equal(t, int64(1), h.p.stats.edges[ruleStreamsChangelog])
				assertLink(t, r, tid(3), sid(30), ruleFanIn)
				assertLink(t, l, tid(3), sid(30), ruleFanIn)
				assert.Equal(t, int64(2), h.p.stats.edges[ruleFanIn], "R and L each link P0")
				synth := h.synthOut()
				require.Len(t, synth, 1)
				st := synth[synthSpanID(tid(6), sid(60))]
				assert.Equal(t, "balances state-store put", st.Name())
				assert.Equal(t, ptrace.SpanKindInternal, st.Kind())
				assert.Equal(t, sid(2), st.ParentSpanID())
				assert.Equal(t, tid(1), st.TraceID())
				assert.Equal(t, "balances", strAttr(st, attrStateStoreName))
				assert.Equal(t, stateStorePut, strAttr(st, attrStateStoreOp))
				assert.Equal(t, derivedFromChange, strAttr(st, attrDerivedFrom))
				assert.Equal(t, ruleStreamsChangelog, strAttr(st, attrRule))
				assert.Equal(t, l.StartTimestamp(), st.StartTimestamp())
				assert.Equal(t, l.EndTimestamp(), st.EndTimestamp())
				if mode == ModeRewrite {
					assert.Equal(t, sid(2), r.ParentSpanID())
					assert.Equal(t, tid(1), r.TraceID())
					assert.Equal(t, tid(1), c.TraceID())
					assert.Equal(t, st.SpanID(), l.ParentSpanID())
					assert.Equal(t, tid(1), l.TraceID())
				} else {
					assert.True(t, r.ParentSpanID().IsEmpty())
					assert.Equal(t, tid(5), r.TraceID())
					assertLink(t, r, tid(1), sid(2), ruleStreamsKey)
					assertLink(t, l, tid(1), sid(2), ruleStreamsChangelog)
					assertLink(t, l, tid(1), st.SpanID(), ruleStreamsChangelog)
					assert.True(t, l.ParentSpanID().IsEmpty())
				}
				h.shutdown()
				assert.Equal(t, int64(h.in), h.p.stats.spansOut, "originals in == originals out")
				assert.Equal(t, int64(1), h.p.stats.synthesized)
			})
		}
	}
}

func TestStreamsKeyLatestProcessBeforeFlush(t *testing.T) {
	// a process span of the same key that ENDS after R started is not R's cause
	late := sp{ts: cons(wp, 7, 70, 0, streamThread, "transactions", 6), key: "acct-1", startMs: 12002, durMs: 5}
	spans := []sp{flushX, flushP, late, flushR, flushC}
	for _, order := range forwardAndReverse(len(spans)) {
		h := newHarness(t, nil)
		feedOrder(h, spans, order)
		assert.Equal(t, sid(2), h.out()[sid(50)].ParentSpanID(), "order %v", order)
		h.shutdown()
	}
}

func TestStreamsKeyWithoutConsumerDoesNotDecide(t *testing.T) {
	// no consumer of R's record ever arrives: R is released unstitched at decision_wait
	spans := []sp{flushX, flushP, flushR}
	for _, order := range forwardAndReverse(len(spans)) {
		h := newHarness(t, nil)
		feedOrder(h, spans, order)
		assert.NotContains(t, h.out(), sid(50))
		h.advance(h.p.cfg.DecisionWait)
		r := h.out()[sid(50)]
		assert.True(t, r.ParentSpanID().IsEmpty())
		assert.Empty(t, strAttr(r, attrRule))
		h.shutdown()
	}
}

func TestFanInBoundedByPreviousFlush(t *testing.T) {
	// R0 flushed acct-1 after P0: P0 belongs to R0's emission, not to R's
	r0 := sp{ts: prod(wp, 8, 80, 0, streamThread, "balance-updates", 1), startMs: 1500, durMs: 5}
	spans := []sp{flushX0, flushP0, r0, flushX, flushP, flushR, flushC}
	for _, order := range forwardAndReverse(len(spans)) {
		h := newHarness(t, nil)
		feedOrder(h, spans, order)
		r := h.out()[sid(50)]
		assert.Equal(t, sid(2), r.ParentSpanID())
		assert.Equal(t, 0, r.Links().Len(), "order %v", order)
		assert.Zero(t, h.p.stats.edges[ruleFanIn])
		h.shutdown()
	}
}

func TestStreamsChangelogLeavesUnpairedWritesAlone(t *testing.T) {
	cases := map[string][]sp{
		// the next root on the thread is another changelog write (a KTable source store)
		"next is changelog": {flushX, flushP,
			sp{ts: prod(wp, 9, 90, 0, streamThread, "withdrawal-processor-accounts-store-changelog", 0), startMs: 11999},
			flushL, flushR, flushC},
		// the forward comes later than flush_pairing_window
		"too far": {flushX, flushP,
			sp{ts: prod(wp, 9, 90, 0, streamThread, balancesC, 1), startMs: 11000}, flushR, flushC},
		// a punctuator's tombstone followed by the next punctuation's output
		"tombstone": {flushX, flushP,
			sp{ts: prod(wp, 9, 90, 0, streamThread, balancesC, 1), startMs: 11990, tombstone: true}, flushR, flushC},
	}
	for name, spans := range cases {
		for _, order := range forwardAndReverse(len(spans)) {
			t.Run(fmt.Sprint(name, order), func(t *testing.T) {
				h := newHarness(t, nil)
				feedOrder(h, spans, order)
				h.advance(h.p.cfg.DecisionWait)
				out := h.out()
				require.Len(t, out, len(spans))
				assert.Equal(t, sid(2), out[sid(50)].ParentSpanID(), "the forward is still stitched")
				w := out[sid(90)]
				assert.True(t, w.ParentSpanID().IsEmpty())
				assert.Empty(t, strAttr(w, attrRule))
				for _, st := range h.synthOut() {
					assert.NotEqual(t, synthSpanID(tid(9), sid(90)), st.SpanID())
				}
				h.shutdown()
			})
		}
	}
}

func TestStateStoreSpanForChildChangelogWrite(t *testing.T) {
	// a put to an uncached store during processing: the write is a child of the process span
	put := sp{ts: prod(wp, 1, 3, 2, streamThread, "withdrawal-processor-summary-buffer-changelog", 7), startMs: 2000}
	del := sp{ts: prod(wp, 1, 4, 2, streamThread, "withdrawal-processor-summary-buffer-changelog", 8), startMs: 2001, tombstone: true}
	spans := []sp{flushX, flushP, put, del}
	for _, mode := range []Mode{ModeRewrite, ModeLink} {
		for _, order := range forwardAndReverse(len(spans)) {
			t.Run(fmt.Sprint(mode, order), func(t *testing.T) {
				h := newHarness(t, func(c *Config) { c.Mode = mode })
				feedOrder(h, spans, order)
				h.shutdown()
				out, synth := h.out(), h.synthOut()
				require.Len(t, out, 4)
				require.Len(t, synth, 2)
				for _, w := range []struct {
					id pcommon.SpanID
					op string
				}{{sid(3), stateStorePut}, {sid(4), stateStoreDelete}} {
					st := synth[synthSpanID(tid(1), w.id)]
					assert.Equal(t, "summary-buffer state-store "+w.op, st.Name())
					assert.Equal(t, sid(2), st.ParentSpanID())
					assert.Equal(t, tid(1), st.TraceID())
					if mode == ModeRewrite {
						assert.Equal(t, st.SpanID(), out[w.id].ParentSpanID())
						assert.Equal(t, sid(2).String(), strAttr(out[w.id], attrOriginalParentSpan))
					} else {
						assert.Equal(t, sid(2), out[w.id].ParentSpanID())
						assertLink(t, out[w.id], tid(1), st.SpanID(), ruleStreamsChangelog)
					}
				}
				assert.Equal(t, int64(h.in), h.p.stats.spansOut)
			})
		}
	}
}

// The configuration-b suppress() shape: Q processed withdrawal X1 (trace 1) and buffered it; the
// window result S is emitted while a later withdrawal X2 is processed (P_wrong, trace 2), so the
// agent parents S under P_wrong. The downstream consumer C of S's record carries the forwarded
// context of X1 (producer-propagation disabled): S belongs under Q.
var (
	supX1 = sp{ts: prod("transaction-producer", 1, 1, 0, "main", "transactions", 1), key: "acct-1", startMs: 100}
	supQ  = sp{ts: cons(wp, 1, 2, 1, streamThread, "transactions", 1), key: "acct-1", startMs: 200, durMs: 2}
	supX2 = sp{ts: prod("transaction-producer", 2, 3, 0, "main", "transactions", 2), key: "acct-1", startMs: 11000}
	supPw = sp{ts: cons(wp, 2, 4, 3, streamThread, "transactions", 2), key: "acct-1", startMs: 11100, durMs: 5}
	supS  = sp{ts: prod(wp, 2, 5, 4, streamThread, "withdrawal-windows", 0), startMs: 11101, durMs: 3}
	supC  = sp{ts: cons("outcome-consumer", 1, 6, 1, "main", "withdrawal-windows", 0), key: "acct-1", startMs: 11200}
)

func TestStreamsMisparentedBothOrders(t *testing.T) {
	spans := []sp{supX1, supQ, supX2, supPw, supS, supC}
	for _, mode := range []Mode{ModeRewrite, ModeLink} {
		for _, order := range forwardAndReverse(len(spans)) {
			t.Run(fmt.Sprint(mode, order), func(t *testing.T) {
				h := newHarness(t, func(c *Config) { c.Mode = mode })
				feedOrder(h, spans, order)
				out := h.out()
				require.Len(t, out, len(spans), "decided before decision_wait")
				s, c := out[sid(5)], out[sid(6)]
				assert.Equal(t, ruleStreamsMisparented, strAttr(s, attrRule))
				assert.Equal(t, ruleOffsetHop, strAttr(c, attrRule))
				assert.Equal(t, int64(1), h.p.stats.edges[ruleStreamsMisparented])
				if mode == ModeRewrite {
					assert.Equal(t, sid(2), s.ParentSpanID())
					assert.Equal(t, tid(1), s.TraceID())
					assert.Equal(t, sid(4).String(), strAttr(s, attrOriginalParentSpan))
					assert.Equal(t, sid(5), c.ParentSpanID())
					assert.Equal(t, tid(1), c.TraceID())
				} else {
					assert.Equal(t, sid(4), s.ParentSpanID())
					assertLink(t, s, tid(1), sid(2), ruleStreamsMisparented)
				}
				h.shutdown()
				assert.Equal(t, int64(h.in), h.p.stats.spansOut)
			})
		}
	}
}

func TestStreamsMisparentedKeepsRelatedParents(t *testing.T) {
	cases := map[string][]sp{
		// a join output inside the process span of the record named by the forwarded header
		"same record": {supX1, supQ,
			sp{ts: prod(wp, 1, 5, 2, streamThread, "withdrawals-approved", 0), startMs: 201},
			sp{ts: cons("outcome-consumer", 1, 6, 1, "main", "withdrawals-approved", 0), key: "acct-1", startMs: 300}},
		// a sub-topology after a repartition hop: P_wrong is the repartition record's process
		// span, its record written inside Q (a true ancestor chain)
		"repartition": {supX1, supQ,
			sp{ts: prod(wp, 1, 7, 2, streamThread, "withdrawal-processor-by-type-repartition", 0), startMs: 201},
			sp{ts: cons(wp, 1, 8, 7, streamThread, "withdrawal-processor-by-type-repartition", 0), key: "withdrawal", startMs: 400},
			sp{ts: prod(wp, 1, 5, 8, streamThread, "type-alerts", 0), startMs: 401},
			sp{ts: cons("outcome-consumer", 1, 6, 1, "main", "type-alerts", 0), key: "withdrawal", startMs: 500}},
		// configuration a: the consumer is S's own child
		"own child": {supX1, supQ, supX2, supPw, supS,
			sp{ts: cons("outcome-consumer", 2, 6, 5, "main", "withdrawal-windows", 0), key: "acct-1", startMs: 11200}},
	}
	for name, spans := range cases {
		for _, order := range forwardAndReverse(len(spans)) {
			t.Run(fmt.Sprint(name, order), func(t *testing.T) {
				h := newHarness(t, nil)
				feedOrder(h, spans, order)
				out := h.out()
				require.Len(t, out, len(spans), "decided before decision_wait")
				assert.NotEqual(t, ruleStreamsMisparented, strAttr(out[sid(5)], attrRule))
				assert.Zero(t, h.p.stats.edges[ruleStreamsMisparented])
				h.shutdown()
			})
		}
	}
}

func TestStreamsMisparentedWithoutProcessSpanLeavesAlone(t *testing.T) {
	// the forwarded header names a record this service never processed (X1 read through a
	// mirror): S keeps its parent; it is released at decision_wait
	spans := []sp{supX1, supX2, supPw, supS, supC}
	for _, order := range forwardAndReverse(len(spans)) {
		h := newHarness(t, nil)
		feedOrder(h, spans, order)
		h.advance(h.p.cfg.DecisionWait)
		s := h.out()[sid(5)]
		assert.Equal(t, sid(4), s.ParentSpanID())
		assert.Empty(t, strAttr(s, attrRule))
		h.shutdown()
	}
}
