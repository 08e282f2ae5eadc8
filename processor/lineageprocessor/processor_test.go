package lineageprocessor

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/processor/processortest"
)

// The withdrawal-b shape: X is the transaction producer's send (trace 1), S the Streams process
// span of that record, R the cache-flush send (a new root, trace 2) on the StreamThread, C the
// downstream consumer of R's record, parented to X through the forwarded traceparent.
var (
	spanX = prod("transaction-producer", 1, 1, 0, "main", "transactions", 5)
	spanS = cons("withdrawal-processor", 1, 2, 1, streamThread, "transactions", 5)
	spanR = prod("withdrawal-processor", 2, 3, 0, streamThread, "balance-updates", 2)
	spanC = cons("outcome-consumer", 1, 4, 1, "main", "balance-updates", 2)
)

func permutations(n int) [][]int {
	if n == 1 {
		return [][]int{{0}}
	}
	var out [][]int
	for _, p := range permutations(n - 1) {
		for i := 0; i <= len(p); i++ {
			q := append(append(append([]int{}, p[:i]...), n-1), p[i:]...)
			out = append(out, q)
		}
	}
	return out
}

func TestStreamsForwardedHeaderAllOrdersRewrite(t *testing.T) {
	spans := []ts{spanX, spanS, spanR, spanC}
	for _, perm := range permutations(len(spans)) {
		t.Run(fmt.Sprint(perm), func(t *testing.T) {
			h := newHarness(t, nil)
			for _, i := range perm {
				h.feed(tracesOf(spans[i]))
				h.advance(time.Second)
			}
			out := h.out()
			require.Len(t, out, 4, "all decided before decision_wait")
			r, c := out[sid(3)], out[sid(4)]
			assert.Equal(t, tid(1), r.TraceID())
			assert.Equal(t, sid(2), r.ParentSpanID())
			assert.Equal(t, ruleStreamsForwardedHeader, strAttr(r, attrRule))
			assert.Equal(t, tid(2).String(), strAttr(r, attrOriginalTraceID))
			assert.Equal(t, tid(1), c.TraceID())
			assert.Equal(t, sid(3), c.ParentSpanID())
			assert.Equal(t, ruleOffsetHop, strAttr(c, attrRule))
			assert.Equal(t, sid(1).String(), strAttr(c, attrOriginalParentSpan))
			assert.Empty(t, strAttr(out[sid(1)], attrRule))
			assert.Empty(t, strAttr(out[sid(2)], attrRule))
			assert.Equal(t, int64(1), h.p.stats.edges[ruleStreamsForwardedHeader])
			assert.Equal(t, int64(1), h.p.stats.edges[ruleOffsetHop])

			// a late span of R's old trace follows it
			h.feed(tracesOf(prod("withdrawal-processor", 2, 9, 3, streamThread, "", 0)))
			assert.Equal(t, tid(1), h.out()[sid(9)].TraceID())
			assert.Equal(t, int64(1), h.p.stats.lateRewritten)
			h.shutdown()
			assert.Equal(t, int64(h.in), h.p.stats.spansOut)
		})
	}
}

func TestStreamsForwardedHeaderAllOrdersLink(t *testing.T) {
	spans := []ts{spanX, spanS, spanR, spanC}
	for _, perm := range permutations(len(spans)) {
		t.Run(fmt.Sprint(perm), func(t *testing.T) {
			h := newHarness(t, func(c *Config) { c.Mode = ModeLink })
			for _, i := range perm {
				h.feed(tracesOf(spans[i]))
				h.advance(time.Second)
			}
			out := h.out()
			require.Len(t, out, 4)
			r, c := out[sid(3)], out[sid(4)]
			// ids untouched
			assert.Equal(t, tid(2), r.TraceID())
			assert.True(t, r.ParentSpanID().IsEmpty())
			assert.Equal(t, tid(1), c.TraceID())
			assert.Equal(t, sid(1), c.ParentSpanID())
			assert.Equal(t, ruleStreamsForwardedHeader, strAttr(r, attrRule))
			assert.Equal(t, ruleOffsetHop, strAttr(c, attrRule))
			assertLink(t, r, tid(1), sid(2), ruleStreamsForwardedHeader)
			assertLink(t, c, tid(2), sid(3), ruleOffsetHop)
			// R is held while C's edge is found whenever R arrives before C is decided
			// (it waits for rule 2), so the reverse link is recorded on R.
			assertLink(t, r, tid(1), sid(4), ruleOffsetHop)
			h.shutdown()
		})
	}
}

func assertLink(t *testing.T, s ptrace.Span, trace [16]byte, span [8]byte, rule string) {
	t.Helper()
	for i := 0; i < s.Links().Len(); i++ {
		l := s.Links().At(i)
		if l.TraceID() == trace && l.SpanID() == span {
			v, _ := l.Attributes().Get(attrRule)
			assert.Equal(t, rule, v.Str())
			return
		}
	}
	t.Errorf("span %s has no link to %x/%x", s.SpanID(), trace, span)
}

func TestOffsetHopBothOrders(t *testing.T) {
	// P: plain producer send in trace 5; C: consumer of P's record with a forwarded context
	// from trace 6 (root Y), E: a child of C that arrives before C.
	p := prod("app", 5, 50, 0, "main", "orders", 1)
	y := prod("upstream", 6, 60, 0, "main", "in", 1)
	c := cons("sink", 6, 61, 60, "main", "orders", 1)
	e := ts{service: "sink", trace: 6, span: 62, parent: 61, kind: ptrace.SpanKindInternal}
	for name, order := range map[string][]ts{
		"producer first":     {p, e, c, y},
		"consumer first":     {e, c, p, y},
		"consumer, producer": {c, p, e, y},
	} {
		t.Run(name, func(t *testing.T) {
			h := newHarness(t, nil)
			for _, s := range order {
				h.feed(tracesOf(s))
			}
			out := h.out()
			require.Len(t, out, 4)
			got := out[sid(61)]
			assert.Equal(t, tid(5), got.TraceID())
			assert.Equal(t, sid(50), got.ParentSpanID())
			assert.Equal(t, tid(6).String(), strAttr(got, attrOriginalTraceID))
			assert.Equal(t, sid(60).String(), strAttr(got, attrOriginalParentSpan))
			assert.Equal(t, ruleOffsetHop, strAttr(got, attrRule))
			assert.Equal(t, tid(5), out[sid(62)].TraceID(), "the held child follows")
			assert.Equal(t, tid(6), out[sid(60)].TraceID())
			// a child of the moved consumer span arriving later follows it
			h.feed(tracesOf(ts{service: "sink", trace: 6, span: 63, parent: 61, kind: ptrace.SpanKindInternal}))
			assert.Equal(t, tid(5), h.out()[sid(63)].TraceID())
			h.shutdown()
			assert.Equal(t, 0, dangling(h.out()))
		})
	}
}

func TestOffsetHopInDecidedTraceFallsBackToLink(t *testing.T) {
	// C's trace (root Y) was decided and passed on, and C's child E went with it: moving C to
	// P's trace would orphan E, so the edge becomes a link.
	h := newHarness(t, nil)
	h.feed(tracesOf(prod("upstream", 6, 60, 0, "main", "in", 1)))
	h.feed(tracesOf(ts{service: "sink", trace: 6, span: 62, parent: 61, kind: ptrace.SpanKindInternal}))
	h.feed(tracesOf(cons("sink", 6, 61, 60, "main", "orders", 1)))
	h.feed(tracesOf(prod("app", 5, 50, 0, "main", "orders", 1)))
	out := h.out()
	require.Len(t, out, 4)
	got := out[sid(61)]
	assert.Equal(t, tid(6), got.TraceID())
	assert.Equal(t, sid(60), got.ParentSpanID())
	assert.Equal(t, ruleOffsetHop, strAttr(got, attrRule))
	assertLink(t, got, tid(5), sid(50), ruleOffsetHop)
	assert.Equal(t, int64(1), h.p.stats.linkFallbacks)
	assert.Equal(t, 0, dangling(out))
}

func TestConsumerAlreadyRightPassesAtOnce(t *testing.T) {
	h := newHarness(t, nil)
	h.feed(tracesOf(prod("app", 5, 50, 0, "main", "orders", 1)))
	h.feed(tracesOf(cons("sink", 5, 51, 50, "main", "orders", 1)))
	out := h.out()
	require.Len(t, out, 2)
	assert.Equal(t, sid(50), out[sid(51)].ParentSpanID())
	assert.Empty(t, strAttr(out[sid(51)], attrRule))
	assert.Equal(t, 0, h.p.heldSpans)
}

func TestConsumerWaitsForProducerThenExpires(t *testing.T) {
	h := newHarness(t, nil)
	h.feed(tracesOf(prod("up", 6, 60, 0, "main", "in", 1), cons("sink", 6, 61, 60, "main", "orders", 1)))
	assert.Len(t, h.out(), 1, "consumer held while its producer span is unknown")
	h.advance(39 * time.Second)
	assert.Len(t, h.out(), 1)
	h.advance(2 * time.Second)
	out := h.out()
	require.Len(t, out, 2)
	assert.Equal(t, sid(60), out[sid(61)].ParentSpanID(), "released unstitched")
	assert.Equal(t, int64(1), h.p.stats.expiredSpans)
}

func TestBreakPointWithoutEvidenceIsHeldUntilDecisionWait(t *testing.T) {
	// configuration a: the consumer is already parented to the flush root, no forwarded header.
	h := newHarness(t, nil)
	h.feed(tracesOf(spanR))
	h.feed(tracesOf(cons("outcome-consumer", 2, 4, 3, "main", "balance-updates", 2)))
	assert.Empty(t, h.out(), "the consumer is held with the flush root's trace")
	h.advance(41 * time.Second)
	out := h.out()
	require.Len(t, out, 2)
	assert.True(t, out[sid(3)].ParentSpanID().IsEmpty())
	assert.Equal(t, tid(2), out[sid(3)].TraceID())
	assert.Equal(t, int64(1), h.p.stats.expiredTraces)
}

func TestTraceWithoutRootReleasedAtDecisionWait(t *testing.T) {
	h := newHarness(t, nil)
	h.feed(tracesOf(ts{service: "a", trace: 7, span: 71, parent: 70, kind: ptrace.SpanKindInternal}))
	h.advance(30 * time.Second)
	assert.Empty(t, h.out())
	h.advance(11 * time.Second)
	assert.Len(t, h.out(), 1)
	// later spans of the now decided trace pass at once
	h.feed(tracesOf(ts{service: "a", trace: 7, span: 72, parent: 70, kind: ptrace.SpanKindInternal}))
	assert.Len(t, h.out(), 2)
}

func TestOrdinaryRootReleasesHeldSpans(t *testing.T) {
	h := newHarness(t, nil)
	h.feed(tracesOf(ts{service: "a", trace: 7, span: 71, parent: 70, kind: ptrace.SpanKindInternal}))
	assert.Empty(t, h.out())
	h.feed(tracesOf(ts{service: "a", trace: 7, span: 70, kind: ptrace.SpanKindServer}))
	assert.Len(t, h.out(), 2)
	assert.Equal(t, 0, h.p.heldSpans)
}

func TestTransitiveMerge(t *testing.T) {
	// trace 8: root consumer D of R's record (lost context) with a child E. D is re-parented to R
	// (rule 1) while R waits for rule 2; R then merges into trace 1, and trace 8 must follow.
	d := cons("other", 8, 80, 0, "main", "balance-updates", 2)
	e := ts{service: "other", trace: 8, span: 81, parent: 80, kind: ptrace.SpanKindInternal}
	h := newHarness(t, nil)
	h.feed(tracesOf(spanR, d, e))
	assert.Empty(t, h.out())
	h.feed(tracesOf(spanX, spanS))
	assert.Len(t, h.out(), 2)
	h.feed(tracesOf(spanC))
	out := h.out()
	require.Len(t, out, 6)
	for _, id := range []byte{3, 4, 80, 81} {
		assert.Equal(t, tid(1), out[sid(id)].TraceID(), "span %d", id)
	}
	assert.Equal(t, sid(3), out[sid(80)].ParentSpanID())
	assert.Equal(t, tid(8).String(), strAttr(out[sid(81)], attrOriginalTraceID))
	// late span of trace 8
	h.feed(tracesOf(ts{service: "other", trace: 8, span: 82, parent: 81, kind: ptrace.SpanKindInternal}))
	assert.Equal(t, tid(1), h.out()[sid(82)].TraceID())
	h.shutdown()
	assert.Equal(t, int64(h.in), h.p.stats.spansOut)
}

func TestBoundsEvictOldest(t *testing.T) {
	h := newHarness(t, func(c *Config) { c.MaxBufferedSpans = 3 })
	for i := byte(1); i <= 5; i++ {
		h.feed(tracesOf(ts{service: "a", trace: i, span: i, parent: 100 + i, kind: ptrace.SpanKindInternal}))
	}
	out := h.out()
	assert.Len(t, out, 2)
	assert.Contains(t, out, sid(1))
	assert.Contains(t, out, sid(2))
	assert.Equal(t, int64(2), h.p.stats.evicted)
	assert.Equal(t, 3, h.p.heldSpans)
	h.shutdown()
	assert.Len(t, h.out(), 5)
	assert.Equal(t, int64(3), h.p.stats.flushed)
}

func TestBoundsBytes(t *testing.T) {
	h := newHarness(t, func(c *Config) { c.MaxBufferedBytes = 1 })
	h.feed(tracesOf(ts{service: "a", trace: 1, span: 1, parent: 2, kind: ptrace.SpanKindInternal}))
	assert.Len(t, h.out(), 1)
	assert.Equal(t, int64(0), h.p.heldBytes)
}

func TestShutdownFlushesEverything(t *testing.T) {
	h := newHarness(t, nil)
	h.feed(tracesOf(spanR, spanC, cons("sink", 9, 91, 90, "main", "x", 1),
		ts{service: "a", trace: 7, span: 71, parent: 70, kind: ptrace.SpanKindInternal},
		prod("connect", 10, 100, 0, "task-thread-crm-accounts-source-0", "accounts", 3)))
	assert.Empty(t, h.out())
	h.shutdown()
	assert.Len(t, h.out(), 5)
	assert.Equal(t, int64(5), h.p.stats.spansOut)
	assert.Equal(t, int64(5), h.p.stats.flushed)
	assert.Equal(t, 0, h.p.heldSpans)
	assert.Equal(t, int64(0), h.p.heldBytes)
}

func TestStartShutdownWithTicker(t *testing.T) {
	h := newHarness(t, nil)
	require.NoError(t, h.p.Start(t.Context(), nil))
	h.feed(tracesOf(spanR))
	h.shutdown()
	assert.Len(t, h.out(), 1)
}

func TestFactoryCreatesProcessor(t *testing.T) {
	f := NewFactory()
	assert.Equal(t, "lineage", f.Type().String())
	h := newHarness(t, nil)
	p, err := f.CreateTraces(t.Context(), processortestSettings(), f.CreateDefaultConfig(), h.sink)
	require.NoError(t, err)
	require.NoError(t, p.Start(t.Context(), nil))
	require.NoError(t, p.Shutdown(t.Context()))
}

func TestConcurrentConsumeWithTicker(t *testing.T) {
	cfg := createDefaultConfig().(*Config)
	cfg.DecisionWait = 4 * time.Millisecond // ticker every 1 ms, on the real clock
	sink := &consumertest.TracesSink{}
	p, err := newLineageProcessor(processortest.NewNopSettings(componentType), cfg, sink, realClock{})
	require.NoError(t, err)
	require.NoError(t, p.Start(t.Context(), nil))
	const workers, per = 4, 50
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := range per {
				base := byte(w*per + i)
				require.NoError(t, p.ConsumeTraces(t.Context(), tracesOf(
					prod("withdrawal-processor", base, base, 0, streamThread, "out", int64(base)),
					cons("sink", base, base+1, 200, "main", "out", int64(base)),
				)))
			}
		})
	}
	wg.Wait()
	require.NoError(t, p.Shutdown(context.Background()))
	assert.Equal(t, 2*workers*per, sink.SpanCount())
}

func TestConsumerInMergedTraceIsReparentedInPlace(t *testing.T) {
	// C2 is a consumer span in trace 8 whose root D (a root consumer at R's coordinate) merges
	// into trace 1 through R; C2's own producer span P2 is in trace 1 too. C2 is re-parented to
	// P2 without a link fallback, inside trace 1.
	d := cons("other", 8, 80, 0, "main", "balance-updates", 2)
	c2 := cons("other", 8, 81, 80, "main", "withdrawals-approved", 7)
	p2 := prod("withdrawal-processor", 1, 20, 2, streamThread, "withdrawals-approved", 7)
	h := newHarness(t, nil)
	h.feed(tracesOf(spanX, spanS, spanR, d, c2))
	h.feed(tracesOf(spanC))
	h.feed(tracesOf(p2))
	out := h.out()
	require.Len(t, out, 7)
	assert.Equal(t, tid(1), out[sid(81)].TraceID())
	assert.Equal(t, sid(20), out[sid(81)].ParentSpanID())
	assert.Equal(t, int64(0), h.p.stats.linkFallbacks)
	assert.Equal(t, 0, dangling(out))
	h.shutdown()
}

// Receive telemetry (configuration d): the consumer's poll span is a root RECEIVE span, the
// record's process span its child (the producer context only as a link). The process span moves
// to its producer's trace with its descendants; links to a moved span follow it.
func TestReceiveTelemetryProcessSpanLeavesThePoll(t *testing.T) {
	x := prod("transaction-producer", 1, 1, 0, "main", "transactions", 5)
	recv := ts{service: "outcome-consumer", trace: 2, span: 20, kind: ptrace.SpanKindConsumer, thread: "main", topic: ""}
	proc := cons("outcome-consumer", 2, 21, 20, "main", "transactions", 5)
	child := ts{service: "outcome-consumer", trace: 2, span: 22, parent: 21, kind: ptrace.SpanKindInternal, thread: "main"}
	linker := cons("audit-consumer", 3, 30, 0, "main", "other", 1) // links to the process span
	h := newHarness(t, nil)
	td := tracesOf(recv)
	td.ResourceSpans().At(0).ScopeSpans().At(0).Spans().At(0).Attributes().PutStr(attrOperationOld, operationReceive)
	h.feed(tracesOf(child)) // children end, and are exported, first
	h.feed(tracesOf(proc))
	h.feed(td)
	h.feed(tracesOf(x))
	lt := tracesOf(linker)
	l := lt.ResourceSpans().At(0).ScopeSpans().At(0).Spans().At(0).Links().AppendEmpty()
	l.SetTraceID(tid(2))
	l.SetSpanID(sid(21))
	h.feed(lt)
	h.shutdown()
	out := h.out()
	require.Len(t, out, 5)
	assert.Equal(t, tid(1), out[sid(21)].TraceID())
	assert.Equal(t, sid(1), out[sid(21)].ParentSpanID())
	assert.Equal(t, tid(1), out[sid(22)].TraceID(), "the child follows its process span")
	assert.Equal(t, tid(2), out[sid(20)].TraceID(), "the poll keeps its own trace")
	ol := out[sid(30)].Links().At(0)
	assert.Equal(t, tid(1), ol.TraceID(), "the link follows the moved span")
	v, _ := ol.Attributes().Get(attrOriginalTraceID)
	assert.Equal(t, tid(2).String(), v.Str())
}

// Receive telemetry, expiry order: the poll R reaches decision_wait while its process span C still
// waits for its producer X. R is held once more (not passed on), so that C can still move to X's
// trace when X arrives — instead of getting only a link — and R goes out as soon as C is decided.
func TestPollHeldWhileItsProcessSpanWaits(t *testing.T) {
	recv := ts{service: "outcome-consumer", trace: 2, span: 20, kind: ptrace.SpanKindConsumer, thread: "main"}
	proc := cons("outcome-consumer", 2, 21, 20, "main", "transactions", 5)
	x := prod("transaction-producer", 1, 1, 0, "main", "transactions", 5)
	h := newHarness(t, nil)
	td := tracesOf(recv)
	td.ResourceSpans().At(0).ScopeSpans().At(0).Spans().At(0).Attributes().PutStr(attrOperationOld, operationReceive)
	h.feed(td)
	h.advance(5 * time.Second)
	h.feed(tracesOf(proc))
	h.advance(h.p.cfg.DecisionWait - 4*time.Second) // R's decision_wait is over, C's not yet
	assert.NotContains(t, h.out(), sid(20), "the poll waits for its process span")
	h.feed(tracesOf(x))
	h.advance(time.Second)
	out := h.out()
	require.Contains(t, out, sid(20), "released once its process span is decided")
	assert.Equal(t, tid(1), out[sid(21)].TraceID())
	assert.Equal(t, sid(1), out[sid(21)].ParentSpanID())
	assert.Zero(t, h.p.stats.linkFallbacks)
	h.shutdown()
}
