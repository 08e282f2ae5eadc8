package lineageprocessor

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/eventlineage/lineage/internal/recordfact"
)

// rf is a test record fact on the test spans' cluster ("cluster-1", see tracesOf).
type rf struct {
	topic     string
	offset    int64
	key       string // the key hash ("" = null key)
	tsMs      int64
	tombstone bool
	header    *spanKey
}

func factsOf(facts ...rf) plog.Logs {
	ld := plog.NewLogs()
	rl := ld.ResourceLogs().AppendEmpty()
	rl.Resource().Attributes().PutStr(recordfact.AttrClusterName, "dc1")
	rl.Resource().Attributes().PutStr(recordfact.AttrClusterID, "cluster-1")
	recs := rl.ScopeLogs().AppendEmpty().LogRecords()
	for _, f := range facts {
		fa := recordfact.Fact{Topic: f.topic, Offset: f.offset, KeyHash: f.key, Tombstone: f.tombstone,
			Timestamp: time.UnixMilli(f.tsMs)}
		if f.header != nil {
			fa.TraceID, fa.SpanID = f.header.trace, f.header.span
		}
		fa.Write(recs.AppendEmpty(), base)
	}
	return ld
}

// feedWithFacts feeds the spans in order, with the facts first or last.
func feedWithFacts(h *harness, spans []sp, facts plog.Logs, factsFirst bool) {
	if factsFirst {
		h.feedLogs(facts)
	}
	feedOrder(h, spans, forwardAndReverse(len(spans))[0])
	if !factsFirst {
		h.feedLogs(facts)
	}
}

const (
	summaryBufferC = "withdrawal-processor-summary-buffer-changelog"
	accountsStoreC = "withdrawal-processor-accounts-store-changelog"
)

// Configuration a, keys only in record facts: acct-1 is updated by transactions 4 and 5, acct-2
// by transaction 6 in between; at commit the aggregate of acct-1 is written (changelog L, then
// forward R). Nothing downstream carries the key.
func TestRecordKeyFlushWithFanIn(t *testing.T) {
	p4 := sp{ts: cons(wp, 3, 30, 31, streamThread, "transactions", 4), startMs: 1000, durMs: 2}
	p6 := sp{ts: cons(wp, 4, 40, 41, streamThread, "transactions", 6), startMs: 1500, durMs: 2}
	p5 := sp{ts: cons(wp, 1, 2, 1, streamThread, "transactions", 5), startMs: 2000, durMs: 2}
	l := sp{ts: prod(wp, 6, 60, 0, streamThread, balancesC, 0), startMs: 12000, durMs: 10}
	r := sp{ts: prod(wp, 5, 50, 0, streamThread, "balance-updates", 0), startMs: 12003, durMs: 10}
	facts := factsOf(rf{topic: "transactions", offset: 4, key: "h-acct-1", tsMs: 10},
		rf{topic: "transactions", offset: 6, key: "h-acct-2", tsMs: 15},
		rf{topic: "transactions", offset: 5, key: "h-acct-1", tsMs: 20},
		rf{topic: balancesC, offset: 0, key: "h-acct-1", tsMs: 20},
		rf{topic: "balance-updates", offset: 0, key: "h-acct-1", tsMs: 20})
	for _, first := range []bool{true, false} {
		t.Run(fmt.Sprint("facts first ", first), func(t *testing.T) {
			h := newHarness(t, nil)
			feedWithFacts(h, []sp{p4, p6, p5, l, r}, cloneLogs(facts), first)
			h.shutdown()
			out := h.out()
			for _, id := range []byte{50, 60} {
				s := out[sid(id)]
				assert.Equal(t, tid(1), s.TraceID(), "span %d", id)
				assert.Equal(t, ruleRecordKey, strAttr(s, attrRule))
				assertLink(t, s, tid(3), sid(30), ruleFanIn)
				assert.Equal(t, 1, s.Links().Len(), "acct-2's update is no contributor")
			}
			assert.Equal(t, sid(2), out[sid(50)].ParentSpanID())
		})
	}
}

func cloneLogs(ld plog.Logs) plog.Logs {
	out := plog.NewLogs()
	ld.CopyTo(out)
	return out
}

// Two input topics share keys (a KTable source and a stream): the flushed entry's timestamp tells
// which input updated it last.
func TestRecordKeyPrefersTheInputWithTheOutputTimestamp(t *testing.T) {
	tx := sp{ts: cons(wp, 1, 2, 1, streamThread, "transactions", 5), startMs: 1000, durMs: 2}
	acct := sp{ts: cons(wp, 3, 30, 31, streamThread, "accounts", 0), startMs: 2000, durMs: 2}
	r := sp{ts: prod(wp, 5, 50, 0, streamThread, "balance-updates", 0), startMs: 12003, durMs: 10}
	h := newHarness(t, nil)
	feedWithFacts(h, []sp{tx, acct, r}, factsOf(rf{topic: "transactions", offset: 5, key: "h-acct-1", tsMs: 10},
		rf{topic: "accounts", offset: 0, key: "h-acct-1", tsMs: 30},
		rf{topic: "balance-updates", offset: 0, key: "h-acct-1", tsMs: 10}), true)
	h.shutdown()
	out := h.out()[sid(50)]
	assert.Equal(t, sid(2), out.ParentSpanID())
	assert.Equal(t, tid(1), out.TraceID())
}

// A punctuator summarises the entries buffered by transactions 4 and 5 (uncached store: the puts
// are children of their process spans), forwards the summary S and deletes both entries (D4, D5).
// S belongs to the latest update (5) with a link to 4; each delete to the update whose entry it
// removes; a later span on the thread shows the burst is over.
func TestPunctuationDrainAndStoreDelete(t *testing.T) {
	p4 := sp{ts: cons(wp, 3, 30, 31, streamThread, "transactions", 4), startMs: 1000, durMs: 2}
	put4 := sp{ts: prod(wp, 3, 32, 30, streamThread, summaryBufferC, 0), startMs: 1001}
	p5 := sp{ts: cons(wp, 1, 2, 1, streamThread, "transactions", 5), startMs: 2000, durMs: 2}
	put5 := sp{ts: prod(wp, 1, 3, 2, streamThread, summaryBufferC, 1), startMs: 2001}
	s := sp{ts: prod(wp, 7, 70, 0, streamThread, "summaries", 0), startMs: 5000}
	d5 := sp{ts: prod(wp, 8, 80, 0, streamThread, summaryBufferC, 2), startMs: 5002, tombstone: true}
	d4 := sp{ts: prod(wp, 9, 90, 0, streamThread, summaryBufferC, 3), startMs: 5003, tombstone: true}
	later := sp{ts: cons(wp, 10, 100, 101, streamThread, "transactions", 6), startMs: 7000, durMs: 2}
	facts := factsOf(rf{topic: "transactions", offset: 4, key: "h-acct-1", tsMs: 10},
		rf{topic: "transactions", offset: 5, key: "h-acct-2", tsMs: 20},
		rf{topic: "transactions", offset: 6, key: "h-acct-1", tsMs: 70},
		rf{topic: summaryBufferC, offset: 0, key: "h-ev-4", tsMs: 10},
		rf{topic: summaryBufferC, offset: 1, key: "h-ev-5", tsMs: 20},
		rf{topic: "summaries", offset: 0, key: "h-summary", tsMs: 50},
		rf{topic: summaryBufferC, offset: 2, key: "h-ev-5", tsMs: 50, tombstone: true},
		rf{topic: summaryBufferC, offset: 3, key: "h-ev-4", tsMs: 50, tombstone: true})
	for _, first := range []bool{true, false} {
		t.Run(fmt.Sprint("facts first ", first), func(t *testing.T) {
			h := newHarness(t, nil)
			feedWithFacts(h, []sp{p4, put4, p5, put5, s, d5, d4, later}, cloneLogs(facts), first)
			h.shutdown()
			out, synth := h.out(), h.synthOut()
			sum := out[sid(70)]
			assert.Equal(t, rulePunctuationDrain, strAttr(sum, attrRule))
			assert.Equal(t, tid(1), sum.TraceID())
			assert.Equal(t, sid(2), sum.ParentSpanID())
			assertLink(t, sum, tid(3), sid(30), ruleFanIn)
			for id, cause := range map[byte]struct{ trace, span byte }{80: {1, 2}, 90: {3, 30}} {
				d := out[sid(id)]
				assert.Equal(t, ruleStoreDelete, strAttr(d, attrRule), "delete %d", id)
				assert.Equal(t, tid(cause.trace), d.TraceID(), "delete %d", id)
				st := synth[synthSpanID(tid(id/10), sid(id))] // named by the write's original ids
				assert.Equal(t, "summary-buffer state-store delete", st.Name(), "delete %d", id)
				assert.Equal(t, sid(cause.span), st.ParentSpanID(), "delete %d", id)
			}
		})
	}
}

// Configuration b: the flushed record keeps the forwarded traceparent of its last input (X, at
// transactions/5): R belongs under the process span of that record, no downstream consumer needed.
func TestRecordHeaderFromTheRecord(t *testing.T) {
	x := sp{ts: prod("transaction-producer", 1, 1, 0, "main", "transactions", 5), startMs: 900}
	p := sp{ts: cons(wp, 1, 2, 1, streamThread, "transactions", 5), startMs: 1000, durMs: 2}
	r := sp{ts: prod(wp, 5, 50, 0, streamThread, "balance-updates", 0), startMs: 12003, durMs: 10}
	h := newHarness(t, nil)
	feedWithFacts(h, []sp{x, p, r}, factsOf(rf{topic: "balance-updates", offset: 0, key: "h-acct-1", tsMs: 10,
		header: &spanKey{tid(1), sid(1)}}), false)
	h.shutdown()
	out := h.out()[sid(50)]
	assert.Equal(t, ruleRecordHeader, strAttr(out, attrRule))
	assert.Equal(t, sid(2), out.ParentSpanID())
	assert.Equal(t, tid(1), out.TraceID())
}

func TestMalformedFactCountedAndPassedOn(t *testing.T) {
	h := newHarness(t, nil)
	ld := factsOf(rf{topic: "transactions", offset: 1, tsMs: 1})
	ld.ResourceLogs().At(0).ScopeLogs().At(0).LogRecords().At(0).Attributes().PutStr(recordfact.AttrOffset, "x")
	h.feedLogs(ld)
	h.feedLogs(factsOf(rf{topic: "transactions", offset: 2, tsMs: 1}))
	assert.Equal(t, int64(1), h.p.stats.factsMalformed)
	assert.Equal(t, int64(1), h.p.stats.facts)
	assert.Equal(t, 2, h.logs.LogRecordCount(), "facts pass on, malformed or not")
	_, ok := h.p.index.factAt(coordinate{"cluster-1", "transactions", 0, 2})
	require.True(t, ok)
}

// The last punctuation of a run: nothing follows on the thread, so the burst is known complete
// only when decision_wait runs out; the rules then decide with what they have.
func TestPunctuationDrainDecidedAtLastChance(t *testing.T) {
	p4 := sp{ts: cons(wp, 3, 30, 31, streamThread, "transactions", 4), startMs: 1000, durMs: 2}
	put4 := sp{ts: prod(wp, 3, 32, 30, streamThread, summaryBufferC, 0), startMs: 1001}
	p5 := sp{ts: cons(wp, 1, 2, 1, streamThread, "transactions", 5), startMs: 2000, durMs: 2}
	put5 := sp{ts: prod(wp, 1, 3, 2, streamThread, summaryBufferC, 1), startMs: 2001}
	s := sp{ts: prod(wp, 7, 70, 0, streamThread, "summaries", 0), startMs: 5000}
	d5 := sp{ts: prod(wp, 8, 80, 0, streamThread, summaryBufferC, 2), startMs: 5002, tombstone: true}
	d4 := sp{ts: prod(wp, 9, 90, 0, streamThread, summaryBufferC, 3), startMs: 5003, tombstone: true}
	h := newHarness(t, nil)
	feedWithFacts(h, []sp{p4, put4, p5, put5, s, d5, d4}, factsOf(rf{topic: "transactions", offset: 4, key: "h-acct-1", tsMs: 10},
		rf{topic: "transactions", offset: 5, key: "h-acct-2", tsMs: 20},
		rf{topic: summaryBufferC, offset: 0, key: "h-ev-4", tsMs: 10},
		rf{topic: summaryBufferC, offset: 1, key: "h-ev-5", tsMs: 20},
		rf{topic: "summaries", offset: 0, key: "h-summary", tsMs: 50},
		rf{topic: summaryBufferC, offset: 2, key: "h-ev-5", tsMs: 50, tombstone: true},
		rf{topic: summaryBufferC, offset: 3, key: "h-ev-4", tsMs: 50, tombstone: true}), true)
	assert.NotContains(t, h.out(), sid(70), "the burst may go on")
	h.advance(h.p.cfg.DecisionWait + time.Second)
	out := h.out()[sid(70)]
	assert.Equal(t, rulePunctuationDrain, strAttr(out, attrRule))
	assert.Equal(t, sid(2), out.ParentSpanID())
	assertLink(t, out, tid(3), sid(30), ruleFanIn)
	assert.Zero(t, h.p.stats.expiredTraces)
}

// A suppress buffer flushed at commit: its value holds the record context of the withdrawal it
// last buffered (transactions/9); the window's earlier withdrawal (transactions/7) updated the
// same window-store entry, so it is a contributor.
func TestRecordContextForSuppressBufferWrites(t *testing.T) {
	const windowsC, suppressC = "withdrawal-processor-withdrawal-windows-changelog", "withdrawal-processor-withdrawal-windows-suppress-store-changelog"
	p7 := sp{ts: cons(wp, 3, 30, 31, streamThread, "transactions", 7), startMs: 1000, durMs: 2}
	w7 := sp{ts: prod(wp, 3, 32, 30, streamThread, windowsC, 0), startMs: 1001}
	p9 := sp{ts: cons(wp, 1, 2, 1, streamThread, "transactions", 9), startMs: 2000, durMs: 2}
	w9 := sp{ts: prod(wp, 1, 3, 2, streamThread, windowsC, 1), startMs: 2001}
	put := sp{ts: prod(wp, 5, 50, 0, streamThread, suppressC, 0), startMs: 30000}
	h := newHarness(t, nil)
	feedWithFacts(h, []sp{p7, w7, p9, w9, put}, factsOf(rf{topic: "transactions", offset: 7, key: "h-acct-1", tsMs: 10},
		rf{topic: windowsC, offset: 0, key: "h-acct-1@0", tsMs: 10},
		rf{topic: "transactions", offset: 9, key: "h-acct-1", tsMs: 20},
		rf{topic: windowsC, offset: 1, key: "h-acct-1@0", tsMs: 20},
		rf{topic: suppressC, offset: 0, key: "h-acct-1@0-buffer", tsMs: 30000}), true)
	// the context is what the receiver decodes from the buffered value
	ld := factsOf()
	fa := recordfact.Fact{Topic: suppressC, Offset: 0, KeyHash: "h-acct-1@0-buffer", Timestamp: time.UnixMilli(30000),
		Context: &recordfact.RecordContext{Topic: "transactions", Partition: 0, Offset: 9, Timestamp: 20}}
	fa.Write(ld.ResourceLogs().At(0).ScopeLogs().At(0).LogRecords().AppendEmpty(), base)
	h2 := newHarness(t, nil)
	feedWithFacts(h2, []sp{p7, w7, p9, w9, put}, mergeLogs(factsOf(rf{topic: "transactions", offset: 7, key: "h-acct-1", tsMs: 10},
		rf{topic: windowsC, offset: 0, key: "h-acct-1@0", tsMs: 10},
		rf{topic: "transactions", offset: 9, key: "h-acct-1", tsMs: 20},
		rf{topic: windowsC, offset: 1, key: "h-acct-1@0", tsMs: 20}), ld), true)
	h.shutdown()
	h2.shutdown()
	assert.Empty(t, strAttr(h.out()[sid(50)], attrRule), "without the context no rule can tell")
	out := h2.out()[sid(50)]
	assert.Equal(t, ruleRecordContext, strAttr(out, attrRule))
	assert.Equal(t, tid(1), out.TraceID())
	assertLink(t, out, tid(3), sid(30), ruleFanIn)
}

func mergeLogs(a, b plog.Logs) plog.Logs {
	b.ResourceLogs().MoveAndAppendTo(a.ResourceLogs())
	return a
}

// A declared stream-table join: the withdrawal (transactions/5, key acct-1) is joined with the
// accounts KTable; its decision (withdrawals-approved, a child of the withdrawal's process span)
// gets a link to the latest accounts record of acct-1 processed before — marked as derived from
// the configuration. The other output of the same process span is no join output.
func TestTableJoinLinksTheTableRecord(t *testing.T) {
	acctOld := sp{ts: cons(wp, 3, 30, 31, streamThread, "accounts", 0), startMs: 100, durMs: 2}
	acct := sp{ts: cons(wp, 4, 40, 41, streamThread, "accounts", 1), startMs: 500, durMs: 2}
	p := sp{ts: cons(wp, 1, 2, 1, streamThread, "transactions", 5), startMs: 1000, durMs: 5}
	out := sp{ts: prod(wp, 1, 3, 2, streamThread, "withdrawals-approved", 0), startMs: 1001}
	rep := sp{ts: prod(wp, 1, 4, 2, streamThread, "withdrawal-processor-by-type-repartition", 0), startMs: 1002}
	facts := factsOf(rf{topic: "accounts", offset: 0, key: "h-acct-1", tsMs: 1},
		rf{topic: "accounts", offset: 1, key: "h-acct-1", tsMs: 5},
		rf{topic: "transactions", offset: 5, key: "h-acct-1", tsMs: 10},
		rf{topic: "withdrawals-approved", offset: 0, key: "h-acct-1", tsMs: 10},
		rf{topic: "withdrawal-processor-by-type-repartition", offset: 0, key: "h-withdrawal", tsMs: 10})
	h := newHarness(t, func(c *Config) {
		c.TableJoins = []TableJoin{{Service: wp, Table: "accounts", Outputs: []string{"withdrawals-approved", "withdrawals-rejected"}}}
	})
	feedWithFacts(h, []sp{acctOld, acct, p, out, rep}, facts, true)
	h.shutdown()
	o := h.out()
	require.Equal(t, 1, o[sid(3)].Links().Len())
	l := o[sid(3)].Links().At(0)
	assert.Equal(t, sid(40), l.SpanID())
	v, _ := l.Attributes().Get(attrDerivedFrom)
	assert.Equal(t, derivedFromConfig, v.Str())
	assertLink(t, o[sid(3)], tid(4), sid(40), ruleTableJoin)
	assert.Zero(t, o[sid(4)].Links().Len())
}

// A window emitted before any commit flushed it to the suppress buffer's changelog: at the next
// commit the buffer logs only a tombstone of the windowed key. The window result S (emitted while
// a later withdrawal P9 is processed, moved to its last withdrawal P7 by record_timestamp) is the
// latest emission of the record key: the tombstone belongs to S's cause.
func TestWindowEmitTombstone(t *testing.T) {
	const windowsC, suppressC = "withdrawal-processor-withdrawal-windows-changelog", "withdrawal-processor-withdrawal-windows-suppress-store-changelog"
	p7 := sp{ts: cons(wp, 3, 30, 31, streamThread, "transactions", 7), startMs: 1000, durMs: 2}
	w7 := sp{ts: prod(wp, 3, 32, 30, streamThread, windowsC, 0), startMs: 1001}
	p9 := sp{ts: cons(wp, 1, 2, 1, streamThread, "transactions", 9), startMs: 2000, durMs: 5}
	s := sp{ts: prod(wp, 1, 3, 2, streamThread, "withdrawal-windows", 0), startMs: 2001}
	other := sp{ts: prod(wp, 1, 4, 2, streamThread, "withdrawals-approved", 0), startMs: 2002}
	tomb := sp{ts: prod(wp, 5, 50, 0, streamThread, suppressC, 0), startMs: 30000, tombstone: true}
	ld := factsOf(rf{topic: "transactions", offset: 7, key: "h-acct-1", tsMs: 10},
		rf{topic: windowsC, offset: 0, key: "h-acct-1@0#0", tsMs: 10},
		rf{topic: "transactions", offset: 9, key: "h-acct-1", tsMs: 20},
		rf{topic: "withdrawal-windows", offset: 0, key: "h-acct-1", tsMs: 10},
		rf{topic: "withdrawals-approved", offset: 0, key: "h-acct-1", tsMs: 20})
	fa := recordfact.Fact{Topic: suppressC, Offset: 0, KeyHash: "h-acct-1@0", Tombstone: true, Timestamp: time.UnixMilli(30000),
		UnwindowedKeyHash: "h-acct-1", WindowStart: 0}
	fa.Write(ld.ResourceLogs().At(0).ScopeLogs().At(0).LogRecords().AppendEmpty(), base)
	h := newHarness(t, nil)
	feedWithFacts(h, []sp{p7, w7, p9, s, other, tomb}, ld, true)
	h.shutdown()
	out := h.out()
	assert.Equal(t, ruleRecordTimestamp, strAttr(out[sid(3)], attrRule))
	assert.Equal(t, sid(30), out[sid(3)].ParentSpanID())
	d := out[sid(50)]
	assert.Equal(t, ruleWindowEmit, strAttr(d, attrRule))
	assert.Equal(t, tid(3), d.TraceID(), "the window's last withdrawal, not the approval sent after the window result")
}
